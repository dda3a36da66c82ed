// The engine contract of extension `appends` and `rewind` (docs/PROTOCOL.md §10): growing
// messages as one entry by position, compaction, open messages, rewind points and retention per
// stream kind. Registered by the engine suite (single Redis and Redis Cluster) and run on the
// memory engine too, so both engines pass the same tests.
import {
  ErrorCode,
  encodeAppBody,
  encodeAppFrame,
  encodeMsgBody,
  encodeMsgFrame,
  HoldfastError,
} from '@holdfast/protocol';
import type { Clock, Engine, Except, RetentionOptions, StoredMessage } from '@holdfast/server';
import { ManualClock } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { type Recorder, range } from './support/recorder.js';

/** An engine with every method of the extensions. */
export type AppendsEngine = Engine & Required<Pick<Engine, 'appendPart' | 'openMessages' | 'rewindPoint'>>;

/** Where the suite runs. */
export interface AppendsTarget {
  /** A started engine (closed after the test) and what it delivered. */
  node: (options?: {
    retention?: RetentionOptions;
    clock?: Clock;
  }) => Promise<{ engine: AppendsEngine; rec: Recorder }>;
  /** Engines made by one test share their storage (nodes of one deployment): cross-node tests run. */
  nodes: boolean;
}

const TS = 1_700_000_000_000;

/** The body of a growing message's start (`open: true`). */
function opening(value: string): string {
  return `${encodeMsgBody('answer', value, TS)},"open":true`;
}

/** A snapshot body: the value folded so far, open unless `ended`. */
function snapshot(value: string, ended = false): string {
  return `${encodeMsgBody('answer', value, TS)}${ended ? '' : ',"open":true'}`;
}

/** A plain message body numbered `n`. */
function plain(n: number): string {
  return encodeMsgBody('tick', { n }, TS + n);
}

/** Watch a stream and wait until live delivery of it is complete (reads wait for the subscription). */
async function watching(engine: Engine, stream: string): Promise<void> {
  engine.watch(stream);
  await engine.read(stream, 0, 0);
}

/** The entries of a read, reduced to what the contract pins (parts and open normalised). */
function entries(
  messages: StoredMessage[],
): { offset: number; frame: string; parts: string[]; open: boolean }[] {
  return messages.map((m) => ({
    offset: m.offset,
    frame: m.frame,
    parts: m.parts ?? [],
    open: m.open === true,
  }));
}

async function closed(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HoldfastError);
  expect((err as HoldfastError).code).toBe(ErrorCode.MessageClosed);
}

/** Register the suite's tests on `target` (in the caller's describe block). */
export function appendsSuite(target: AppendsTarget): void {
  describe('appends and rewind (extension, §10)', () => {
    it('keeps a growing message as one entry at the position of its last frame, offsets consecutive', async () => {
      const { engine } = await target.node();
      const s = 'room:grow "q" {t}';
      const start = await engine.append(s, opening('a'), undefined, { open: true });
      const { epoch } = start;
      expect(start.offset).toBe(1);
      expect((await engine.append(s, plain(2))).offset).toBe(2);
      expect(await engine.appendPart(s, 1, encodeAppBody(1, 'b', false))).toEqual({ epoch, offset: 3 });
      expect((await engine.append(s, plain(4))).offset).toBe(4);
      expect((await engine.appendPart(s, 1, encodeAppBody(1, 'c', false))).offset).toBe(5);

      const msg = (o: number, b: string) => encodeMsgFrame(s, epoch, o, b);
      const app = (o: number, d: string, end = false) =>
        encodeAppFrame(s, epoch, o, encodeAppBody(1, d, end));
      const growing = {
        offset: 5,
        frame: msg(1, opening('a')),
        parts: [app(3, 'b'), app(5, 'c')],
        open: true,
      };
      const page = await engine.read(s, 0, 10);
      expect(page).toMatchObject({ epoch, offset: 5, first: 1 });
      expect(entries(page.messages)).toEqual([
        { offset: 2, frame: msg(2, plain(2)), parts: [], open: false },
        { offset: 4, frame: msg(4, plain(4)), parts: [], open: false },
        growing,
      ]);
      // A cursor inside the message (its app 3 applied): the whole entry follows, after message 4.
      expect(entries((await engine.read(s, 3, 10)).messages).map((m) => m.offset)).toEqual([4, 5]);
      expect(entries((await engine.read(s, 4, 10)).messages)).toEqual([growing]);
      expect((await engine.read(s, 0, 1)).messages.map((m) => m.offset)).toEqual([2]);
      expect((await engine.read(s, 5, 10)).messages).toEqual([]);

      // Compaction: the snapshot (offset 6, `start` in it) replaces the entry's parts.
      await engine.appendPart(s, 1, encodeAppBody(1, 'd', false), { snapshot: snapshot('abcd') });
      await engine.appendPart(s, 1, encodeAppBody(1, 'e', false));
      expect(entries((await engine.read(s, 4, 10)).messages)).toEqual([
        { offset: 7, frame: msg(6, `"start":1,${snapshot('abcd')}`), parts: [app(7, 'e')], open: true },
      ]);
      // Ended with its final snapshot: one closed entry, whose value is the whole fold.
      const end = await engine.appendPart(s, 1, encodeAppBody(1, 'f', true), {
        end: true,
        snapshot: snapshot('abcdef', true),
      });
      expect(end).toEqual({ epoch, offset: 8 });
      expect(entries((await engine.read(s, 0, 10)).messages)).toEqual([
        { offset: 2, frame: msg(2, plain(2)), parts: [], open: false },
        { offset: 4, frame: msg(4, plain(4)), parts: [], open: false },
        { offset: 8, frame: msg(8, `"start":1,${snapshot('abcdef', true)}`), parts: [], open: false },
      ]);
      expect(await engine.head(s)).toEqual({ epoch, offset: 8, first: 1 });
      await closed(engine.appendPart(s, 1, encodeAppBody(1, 'g', false)));
      expect((await engine.head(s)).offset).toBe(8);
    });

    it('ends a message without a snapshot: its parts stay, closed', async () => {
      const { engine } = await target.node();
      const { epoch } = await engine.append('room:end', opening(''), undefined, { open: true });
      await engine.appendPart('room:end', 1, encodeAppBody(1, 'x', false));
      await engine.appendPart('room:end', 1, encodeAppBody(1, undefined, true), { end: true });
      expect(entries((await engine.read('room:end', 0, 10)).messages)).toEqual([
        {
          offset: 3,
          frame: encodeMsgFrame('room:end', epoch, 1, opening('')),
          parts: [
            encodeAppFrame('room:end', epoch, 2, encodeAppBody(1, 'x', false)),
            encodeAppFrame('room:end', epoch, 3, encodeAppBody(1, undefined, true)),
          ],
          open: false,
        },
      ]);
      expect((await engine.openMessages('room:end', 3)).messages).toEqual([]);
    });

    it('rejects an append to a message that is not open with MESSAGE_CLOSED', async () => {
      const { engine } = await target.node({ retention: { maxMessages: 2 } });
      // Never started, a plain message, a wrong epoch.
      await closed(engine.appendPart('room:c', 1, encodeAppBody(1, 'x', false)));
      await engine.append('room:c', plain(1));
      await closed(engine.appendPart('room:c', 1, encodeAppBody(1, 'x', false)));
      const { epoch } = await engine.append('room:c', opening('a'), undefined, { open: true });
      await closed(engine.appendPart('room:c', 2, encodeAppBody(2, 'x', false), { epoch: `${epoch}x` }));
      expect((await engine.appendPart('room:c', 2, encodeAppBody(2, 'x', false), { epoch })).offset).toBe(3);
      // Dropped by retention (two newer entries).
      await engine.append('room:c', plain(4));
      await engine.append('room:c', plain(5));
      await closed(engine.appendPart('room:c', 2, encodeAppBody(2, 'y', false)));
      expect(await engine.head('room:c')).toEqual({ epoch, offset: 5, first: 4 });
      expect((await engine.read('room:c', 0, 10)).messages.map((m) => m.offset)).toEqual([4, 5]);
    });

    it('drops entries oldest position first; first is one more than the last dropped position', async () => {
      const { engine } = await target.node({ retention: { maxMessages: 2 } });
      const s = 'room:first';
      const { epoch } = await engine.append(s, opening('a'), undefined, { open: true });
      await engine.append(s, plain(2));
      await engine.appendPart(s, 1, encodeAppBody(1, 'b', false)); // the message moves to 3
      expect(await engine.head(s)).toEqual({ epoch, offset: 3, first: 1 });
      await engine.append(s, plain(4)); // three entries: 2 goes, not the message started at 1
      expect(await engine.head(s)).toEqual({ epoch, offset: 4, first: 3 });
      const page = await engine.read(s, 0, 10);
      expect(entries(page.messages).map((m) => [m.offset, m.parts.length])).toEqual([
        [3, 1],
        [4, 0],
      ]);
      expect(JSON.parse(page.messages[0]!.frame)).toMatchObject({ t: 'msg', offset: 1, open: true });
      await engine.append(s, plain(5));
      expect(await engine.head(s)).toEqual({ epoch, offset: 5, first: 4 });
      await closed(engine.appendPart(s, 1, encodeAppBody(1, 'c', false)));
    });

    it('lists the open messages at positions up to a point, in position order', async () => {
      const { engine } = await target.node();
      const s = 'room:open';
      const { epoch } = await engine.append(s, opening('a'), { users: ['u1'] }, { open: true }); // 1
      await engine.append(s, opening('b'), undefined, { open: true }); // 2
      await engine.append(s, opening('c'), undefined, { open: true }); // 3
      await engine.appendPart(s, 1, encodeAppBody(1, 'x', false)); // 4: message 1 at 4
      await engine.appendPart(s, 3, encodeAppBody(3, 'y', true), {
        end: true,
        snapshot: snapshot('cy', true),
      }); // 5
      await engine.append(s, plain(6));
      const open = await engine.openMessages(s, 6);
      expect(open).toMatchObject({ epoch, offset: 6, first: 1 });
      expect(open.messages.map((m) => [m.offset, m.open, m.except])).toEqual([
        [2, true, undefined],
        [4, true, { users: ['u1'] }],
      ]);
      expect(open.messages[1]!.parts).toEqual([encodeAppFrame(s, epoch, 4, encodeAppBody(1, 'x', false))]);
      expect((await engine.openMessages(s, 3)).messages.map((m) => m.offset)).toEqual([2]);
      expect((await engine.openMessages(s, 1)).messages).toEqual([]);
      expect((await engine.openMessages('room:none', 10)).messages).toEqual([]);
    });

    it('finds the rewind point by count and by the age of each position', async () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const { engine } = await target.node({ clock });
      const s = 'room:rewind';
      const { epoch } = await engine.append(s, plain(1));
      await engine.append(s, opening('a'), undefined, { open: true }); // 2
      clock.advance(1000);
      await engine.append(s, plain(3));
      await engine.appendPart(s, 2, encodeAppBody(2, 'b', false)); // the message moves to 4, now
      await engine.append(s, plain(5));
      expect(await engine.rewindPoint(s, 2)).toEqual({ epoch, offset: 3, count: 2 });
      expect(await engine.rewindPoint(s, 3)).toEqual({ epoch, offset: 2, count: 3 });
      expect(await engine.rewindPoint(s, 100)).toEqual({ epoch, offset: 0, count: 4 });
      // Written at or after t0 + 500: positions 3, 4 (the message's new position) and 5.
      expect(await engine.rewindPoint(s, 100, t0 + 500)).toEqual({ epoch, offset: 2, count: 3 });
      expect(await engine.rewindPoint(s, 100, t0)).toEqual({ epoch, offset: 0, count: 4 });
      expect(await engine.rewindPoint(s, 100, t0 + 5000)).toEqual({ epoch, offset: 5, count: 0 });
      expect(await engine.rewindPoint(s, 0)).toEqual({ epoch, offset: 5, count: 0 });
      // The replay after R holds exactly `count` entries.
      expect((await engine.read(s, 2, 100)).messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      expect(await engine.rewindPoint('room:empty', 10)).toMatchObject({ offset: 0, count: 0 });
    });

    it('applies retention per stream kind', async () => {
      const { engine } = await target.node({
        retention: { maxMessages: 5, room: { maxMessages: 2 }, session: { maxMessages: 3 } },
      });
      const streams = ['room:k', 'session:k', 'user:k', 'broadcast'];
      for (const s of streams) for (const n of range(1, 7)) await engine.append(s, plain(n));
      const kept = await Promise.all(
        streams.map(async (s) => (await engine.read(s, 0, 100)).messages.length),
      );
      expect(kept).toEqual([2, 3, 5, 5]);
    });

    it('counts a compacted message once, by its snapshot and pending parts', async () => {
      const s = 'room:bytes';
      const snapshotOf = (v: string) => `"start":1,${snapshot(v)}`;
      const size = (epoch: string, offset: number, v: string) =>
        encodeMsgFrame(s, epoch, offset, snapshotOf(v)).length;
      // Room for one plain message and the message's snapshot, not for every app ever sent.
      const probe = await target.node();
      const e = (await probe.engine.head('room:probe')).epoch;
      const plainBytes = encodeMsgFrame(s, e, 1, plain(1)).length;
      const maxBytes = plainBytes + size(e, 99, 'x'.repeat(40)) + 10;
      const { engine } = await target.node({ retention: { maxBytes } });
      await engine.append(s, plain(1));
      await engine.append(s, opening(''), undefined, { open: true });
      let value = '';
      while (value.length < 40) {
        value += 'x';
        await engine.appendPart(s, 2, encodeAppBody(2, 'x', false), { snapshot: snapshot(value) });
      }
      // 40 apps (each ~90 bytes) went through; the entry holds one 40-character snapshot.
      expect((await engine.read(s, 0, 10)).messages.map((m) => m.offset)).toEqual([1, 42]);
      // Pending parts count: without snapshots the message outgrows the room and the plain one goes.
      for (const n of range(43, 46)) await engine.appendPart(s, 2, encodeAppBody(2, `${n}`, false));
      expect((await engine.read(s, 0, 10)).messages.map((m) => m.offset)).toEqual([46]);
      expect((await engine.head(s)).first).toBe(2);
    });

    it('drops entries by the age of their position (a growing message is as old as its last append)', async () => {
      const clock = new ManualClock();
      const { engine } = await target.node({ clock, retention: { maxAgeMs: 1000 } });
      const s = 'room:age';
      await engine.append(s, plain(1));
      await engine.append(s, opening('a'), undefined, { open: true }); // 2
      clock.advance(900);
      await engine.appendPart(s, 2, encodeAppBody(2, 'b', false)); // 3
      clock.advance(200);
      expect((await engine.read(s, 0, 10)).messages.map((m) => m.offset)).toEqual([3]);
      expect((await engine.head(s)).first).toBe(2);
      expect((await engine.appendPart(s, 2, encodeAppBody(2, 'c', false))).offset).toBe(4);
      clock.advance(1001);
      expect((await engine.read(s, 0, 10)).messages).toEqual([]);
      expect(await engine.head(s)).toMatchObject({ offset: 4, first: 5 });
      await closed(engine.appendPart(s, 2, encodeAppBody(2, 'd', false)));
    });

    it('delivers app frames live with the message except, in offset order with plain messages', async () => {
      const a = await target.node();
      const s = 'room:live-app';
      await watching(a.engine, s);
      const except: Except = { sessions: ['s1'] };
      const { epoch } = await a.engine.append(s, opening(''), except, { open: true });
      await a.engine.append(s, plain(2));
      await a.engine.appendPart(s, 1, encodeAppBody(1, 'x', false), { snapshot: snapshot('x') });
      await a.rec.messagesOf(s, 3);
      // As delivered at the time (an open message's stored entry changes later), fields of the contract.
      const { messages } = a.rec;
      expect(
        messages
          .get(s)!
          .map(({ epoch, message: { offset, frame, except } }) => [epoch, { offset, frame, except }]),
      ).toEqual([
        [epoch, { offset: 1, frame: encodeMsgFrame(s, epoch, 1, opening('')), except }],
        [epoch, { offset: 2, frame: encodeMsgFrame(s, epoch, 2, plain(2)), except: undefined }],
        [epoch, { offset: 3, frame: encodeAppFrame(s, epoch, 3, encodeAppBody(1, 'x', false)), except }],
      ]);
    });

    if (target.nodes) {
      it('delivers every app frame to every watching node once, in offset order', async () => {
        const [a, b, c] = [await target.node(), await target.node(), await target.node()];
        const s = 'room:nodes';
        for (const n of [a, b, c]) await watching(n.engine, s);
        await a.engine.append(s, opening(''), undefined, { open: true }); // 1
        await b.engine.append(s, opening(''), undefined, { open: true }); // 2
        await Promise.all([
          (async () => {
            for (const n of range(1, 40)) await a.engine.appendPart(s, 1, encodeAppBody(1, `a${n}`, false));
          })(),
          (async () => {
            for (const n of range(1, 40))
              await b.engine.appendPart(s, 2, encodeAppBody(2, `b${n}`, n === 40), { end: n === 40 });
          })(),
          (async () => {
            for (const n of range(1, 20)) await c.engine.append(s, plain(n));
          })(),
        ]);
        for (const n of [a, b, c]) {
          await n.rec.messagesOf(s, 102);
          expect(n.rec.offsets(s)).toEqual(range(1, 102));
        }
        const apps = c.rec.messages.get(s)!.filter((m) => m.message.frame.startsWith('{"t":"app"'));
        expect(apps.length).toBe(80);
        // Each message's deltas in order: its value folds right.
        const folded = (start: number) =>
          apps
            .map((m) => JSON.parse(m.message.frame) as { start: number; data: string })
            .filter((f) => f.start === start)
            .map((f) => f.data)
            .join(',');
        expect(folded(1)).toBe(
          range(1, 40)
            .map((n) => `a${n}`)
            .join(','),
        );
        expect(folded(2)).toBe(
          range(1, 40)
            .map((n) => `b${n}`)
            .join(','),
        );
        // Message 1 is still open, at the position of its last app, with its 40 parts.
        const last = Math.max(
          ...apps.filter((m) => m.message.frame.includes('"start":1,')).map((m) => m.message.offset),
        );
        const open = await c.engine.openMessages(s, 102);
        expect(open.messages.map((m) => [m.offset, m.parts?.length])).toEqual([[last, 40]]);
      });
    }
  });
}
