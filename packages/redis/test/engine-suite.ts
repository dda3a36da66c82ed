// The engine suite: every engine behaviour that needs no control over one particular Redis
// (no restart, kill or flush of it). test/engine.test.ts runs it on a single redis-server,
// test/redis-cluster.test.ts on a three-master Redis Cluster.
import { encodeMsgBody, encodeMsgFrame } from '@holdfast/protocol';
import type { SessionRecord } from '@holdfast/server';
import { Cleanups, ManualClock } from '@holdfast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoff, createRedisEngine, type RedisEngine, type RedisEngineOptions } from '../src/index.js';
import { partsOf } from '../src/internal.js';
import { type AppendsEngine, appendsSuite } from './appends-suite.js';
import { Recorder, range } from './support/recorder.js';
import { uniquePrefix } from './support/redis-server.js';

/** Where the suite runs: a single Redis or a Redis Cluster. */
export interface EngineTarget {
  /** The engine's connection options (`url` or `clusterNodes`), read when a test starts. */
  connection: () => RedisEngineOptions;
  /** Run one command on every Redis server of the target (one result per server). */
  onEveryServer: (args: string[]) => Promise<unknown[]>;
}

/** Watch a stream and wait until the subscription is live (reads wait for it). */
export async function watching(engine: RedisEngine, stream: string): Promise<void> {
  engine.watch(stream);
  await engine.read(stream, 0, 0);
}

/** A message body numbered `n`. */
export function body(n: number): string {
  return encodeMsgBody('tick', { n }, 1_700_000_000_000 + n);
}

/** A session record of `user`. */
export function record(id: string, user: string, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    user,
    resumeTokenHash: `hash-${id}`,
    createdAt: 1_700_000_000_000,
    rooms: [],
    acked: {},
    starts: {},
    ...extra,
  };
}

/** Register the engine suite's tests on `target` (in the caller's describe block). */
export function engineSuite(target: EngineTarget): void {
  let prefix: string;
  const cleanups = new Cleanups();
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(() => cleanups.run());

  /** A started engine on the target (closed after the test) and what it delivered. */
  async function node(options: RedisEngineOptions = {}): Promise<{ engine: RedisEngine; rec: Recorder }> {
    const engine = createRedisEngine({ ...target.connection(), prefix, ...options });
    const rec = new Recorder();
    cleanups.defer(() => engine.close());
    await engine.start(rec.listeners);
    return { engine, rec };
  }

  appendsSuite({
    node: async (options) => node(options) as Promise<{ engine: AppendsEngine; rec: Recorder }>,
    nodes: true,
  });

  describe('streams', () => {
    it('assigns offsets, stores the msg frame as the protocol encodes it, and reads it back', async () => {
      const { engine } = await node();
      const stream = 'room:a "quoted" é {tag}';
      const a1 = await engine.append(stream, body(1));
      const a2 = await engine.append(stream, body(2), { sessions: ['s1'], users: ['ü'] });
      expect([a1.offset, a2.offset]).toEqual([1, 2]);
      expect(a2.epoch).toBe(a1.epoch);

      const page = await engine.read(stream, 0, 10);
      expect(page).toMatchObject({ epoch: a1.epoch, offset: 2, first: 1 });
      expect(page.messages.map((m) => m.frame)).toEqual([
        encodeMsgFrame(stream, a1.epoch, 1, body(1)),
        encodeMsgFrame(stream, a1.epoch, 2, body(2)),
      ]);
      expect(JSON.parse(page.messages[1]!.frame)).toMatchObject({
        t: 'msg',
        stream,
        offset: 2,
        data: { n: 2 },
      });
      expect(page.messages[0]!.except).toBeUndefined();
      expect(page.messages[1]!.except).toEqual({ sessions: ['s1'], users: ['ü'] });

      expect((await engine.read(stream, 1, 10)).messages.map((m) => m.offset)).toEqual([2]);
      expect((await engine.read(stream, 0, 1)).messages.map((m) => m.offset)).toEqual([1]);
      expect((await engine.read(stream, 2, 10)).messages).toEqual([]);
      expect(await engine.head(stream)).toEqual({ epoch: a1.epoch, offset: 2, first: 1 });
    });

    it('gives an untouched stream an epoch that its first message keeps', async () => {
      const { engine } = await node();
      const head = await engine.head('user:new');
      expect(head).toMatchObject({ offset: 0, first: 1 });
      expect(head.epoch).toMatch(/^[\x21-\x7e]{1,32}$/);
      const appended = await engine.append('user:new', body(1));
      expect(appended).toEqual({ epoch: head.epoch, offset: 1 });
    });

    it('keeps at most maxMessages and maxBytes per stream, oldest dropped first', async () => {
      const { engine } = await node({ retention: { maxMessages: 5 } });
      for (const n of range(1, 12)) await engine.append('room:count', body(n));
      const page = await engine.read('room:count', 0, 100);
      expect(page.messages.map((m) => m.offset)).toEqual(range(8, 12));
      expect(page).toMatchObject({ offset: 12, first: 8 });
      // A reader behind the retained history sees where it starts (the server reports the gap).
      expect((await engine.read('room:count', 2, 100)).messages[0]!.offset).toBe(8);

      const frameBytes = encodeMsgFrame('room:bytes', 'x'.repeat(13), 10, body(10)).length;
      const bytes = await node({ retention: { maxBytes: frameBytes * 3 + 5 } });
      for (const n of range(10, 20)) await bytes.engine.append('room:bytes', body(n));
      const kept = (await bytes.engine.read('room:bytes', 0, 100)).messages;
      expect(kept.length).toBeGreaterThanOrEqual(2);
      expect(kept.length).toBeLessThanOrEqual(3);
      expect(kept.reduce((s, m) => s + Buffer.byteLength(m.frame), 0)).toBeLessThanOrEqual(
        frameBytes * 3 + 5,
      );
      expect(kept.at(-1)!.offset).toBe(11);
    });

    it('never returns messages older than maxAgeMs', async () => {
      const clock = new ManualClock();
      const { engine } = await node({ clock, retention: { maxAgeMs: 1000 } });
      await engine.append('room:age', body(1));
      await engine.append('room:age', body(2));
      clock.advance(600);
      await engine.append('room:age', body(3));
      clock.advance(401);
      const page = await engine.read('room:age', 0, 10);
      expect(page.messages.map((m) => m.offset)).toEqual([3]);
      expect(page).toMatchObject({ offset: 3, first: 3 });
      clock.advance(1000);
      expect(await engine.head('room:age')).toMatchObject({ offset: 3, first: 4 });
      expect((await engine.read('room:age', 0, 10)).messages).toEqual([]);
      expect((await engine.append('room:age', body(4))).offset).toBe(4);
      expect((await engine.read('room:age', 0, 10)).messages.map((m) => m.offset)).toEqual([4]);
    });

    it('delivers every message to every watching node once, in offset order, including its own', async () => {
      const a = await node();
      const b = await node();
      const c = await node();
      for (const n of [a, b, c]) await watching(n.engine, 'room:live');
      await Promise.all([
        (async () => {
          for (const n of range(1, 50)) await a.engine.append('room:live', body(n));
        })(),
        (async () => {
          for (const n of range(51, 100)) await b.engine.append('room:live', body(n));
        })(),
      ]);
      for (const n of [a, b, c]) {
        await n.rec.messagesOf('room:live', 100);
        expect(n.rec.offsets('room:live')).toEqual(range(1, 100));
      }
      const epoch = (await a.engine.head('room:live')).epoch;
      expect(c.rec.messages.get('room:live')!.every((m) => m.epoch === epoch)).toBe(true);
      const read = await c.engine.read('room:live', 0, 100);
      expect(c.rec.messages.get('room:live')!.map((m) => m.message)).toEqual(read.messages);
    });

    it('stops delivering after unwatch', async () => {
      const a = await node();
      const b = await node();
      await watching(a.engine, 'room:x');
      await watching(a.engine, 'room:y');
      await b.engine.append('room:x', body(1));
      await a.rec.messagesOf('room:x', 1);
      a.engine.unwatch('room:x');
      // Unsubscribing is a command on the same connection as the next subscription: once a
      // later subscription is live, the unsubscribe is done.
      await watching(a.engine, 'room:z');
      await b.engine.append('room:x', body(2));
      await b.engine.append('room:y', body(3));
      await a.rec.messagesOf('room:y', 1);
      expect(a.rec.offsets('room:x')).toEqual([1]);
    });

    it('publishes volatile frames, presence and control commands to every node', async () => {
      const a = await node();
      const b = await node();
      await watching(b.engine, 'room:v');
      await a.engine.publishVolatile('room:v', '{"t":"vol","type":"typing"}', { users: ['me'] });
      await a.engine.publishPresence('v', 'join', 'alice', 2);
      await a.engine.publishControl({ op: 'leave', sessionId: 's1', room: 'v', stream: 'room:v' });
      await b.rec.signal.until(() => b.rec.volatile.length === 1 && b.rec.presence.length === 1);
      await b.rec.signal.until(() => b.rec.control.length === 1);
      await a.rec.signal.until(() => a.rec.control.length === 1);
      expect(b.rec.volatile).toEqual([
        { stream: 'room:v', frame: '{"t":"vol","type":"typing"}', except: { users: ['me'] } },
      ]);
      expect(b.rec.presence).toEqual([{ room: 'v', event: 'join', user: 'alice', sessions: 2 }]);
      expect(b.rec.control).toEqual([{ op: 'leave', sessionId: 's1', room: 'v', stream: 'room:v' }]);
      // Volatile frames are never stored.
      expect((await a.engine.head('room:v')).offset).toBe(0);
    });

    it('costs one script call (one XADD, one publish) per message, whatever the audience', async () => {
      const a = await node();
      const watchers = [await node(), await node(), await node()];
      for (const w of watchers) await watching(w.engine, 'room:cost');
      await a.engine.append('room:cost', body(0));
      const stats = async () => {
        // Summed over every server (a Cluster's masters each count their own calls).
        const infos = (await target.onEveryServer(['INFO', 'commandstats'])).map(String);
        const calls = (cmd: string) =>
          infos.reduce(
            (sum, info) => sum + Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0),
            0,
          );
        return { evalsha: calls('evalsha') + calls('eval'), xadd: calls('xadd'), publish: calls('spublish') };
      };
      const before = await stats();
      for (const n of range(1, 100)) await a.engine.append('room:cost', body(n));
      const after = await stats();
      expect(after.evalsha - before.evalsha).toBe(100);
      expect(after.xadd - before.xadd).toBe(100);
      expect(after.publish - before.publish).toBe(100);
      for (const w of watchers) await w.rec.messagesOf('room:cost', 101);
    });
  });

  describe('sessions', () => {
    it('stores, loads, acks and counts connections', async () => {
      const a = await node();
      const b = await node();
      const r = record('s1', 'alice', {
        acked: { 'session:s1': { epoch: 'e1', offset: 0 } },
        starts: { 'session:s1': { epoch: 'e1', offset: 0 } },
        data: { role: 'admin' },
      });
      await a.engine.createSession(r, 0);
      expect(await b.engine.getSession('s1')).toEqual(r);
      expect(await b.engine.getSession('nope')).toBeUndefined();
      await b.engine.saveAcks('s1', [{ stream: 'broadcast', epoch: 'e2', offset: 7 }]);
      expect((await a.engine.getSession('s1'))!.acked).toEqual({
        'session:s1': { epoch: 'e1', offset: 0 },
        broadcast: { epoch: 'e2', offset: 7 },
      });
      // A subscription's start is its acked cursor too; later acks leave the start alone.
      await b.engine.saveStart('s1', { stream: 'room:x', epoch: 'e3', offset: 4 });
      await a.engine.saveAcks('s1', [{ stream: 'room:x', epoch: 'e3', offset: 6 }]);
      const s1 = (await a.engine.getSession('s1'))!;
      expect(s1.starts).toEqual({
        'session:s1': { epoch: 'e1', offset: 0 },
        'room:x': { epoch: 'e3', offset: 4 },
      });
      expect(s1.acked['room:x']).toEqual({ epoch: 'e3', offset: 6 });
      // Acks for a session that no longer exists do not bring it back.
      await b.engine.saveAcks('gone', [{ stream: 'broadcast', epoch: 'e2', offset: 7 }]);
      expect(await a.engine.getSession('gone')).toBeUndefined();
      expect(await a.engine.markConnected('s1')).toBe(0);
      expect(await b.engine.markConnected('s1')).toBe(1);
      expect(await a.engine.userSessions('alice')).toEqual(['s1']);
      expect(await b.engine.countSessions()).toBe(1);
    });

    it('expires a disconnected session after its TTL; one node gets the record, with its handled ids and stream gone', async () => {
      const clock = new ManualClock();
      const a = await node({ clock });
      const b = await node({ clock });
      await a.engine.createSession(record('s2', 'bob'), 0);
      await a.engine.append('session:s2', body(1));
      await a.engine.putHandled('s2', 'm1', '{"t":"res","id":"m1","ok":true}', 10);
      await a.engine.touchSession('s2', 1000);
      clock.advance(999);
      expect(await b.engine.expiredSessions(clock.now())).toEqual([]);
      expect(await b.engine.getSession('s2')).toBeDefined();
      clock.advance(1);
      expect(await b.engine.getSession('s2')).toBeUndefined();
      const [la, lb] = await Promise.all([
        a.engine.expiredSessions(clock.now()),
        b.engine.expiredSessions(clock.now()),
      ]);
      // Listed once across the cluster.
      expect([...la, ...lb]).toEqual(['s2']);
      const [da, db] = await Promise.all([a.engine.deleteSession('s2'), b.engine.deleteSession('s2')]);
      expect([da, db].filter(Boolean)).toEqual([record('s2', 'bob')]);
      expect(await a.engine.getHandled('s2', 'm1')).toBeUndefined();
      expect(await b.engine.head('session:s2')).toMatchObject({ offset: 0 });
      expect(await a.engine.userSessions('bob')).toEqual([]);
      expect(await a.engine.countSessions()).toBe(0);
    });

    it('keeps a session connected elsewhere alive when a replaced connection closes late', async () => {
      const clock = new ManualClock();
      const a = await node({ clock });
      const b = await node({ clock });
      await a.engine.createSession(record('s3', 'carol'), 0);
      await a.engine.markConnected('s3');
      await b.engine.markConnected('s3'); // resumed on b
      await a.engine.touchSession('s3', 1000); // a's old connection closes afterwards
      clock.advance(5000);
      expect(await a.engine.getSession('s3')).toBeDefined();
      expect(await a.engine.expiredSessions(clock.now())).toEqual([]);
      await b.engine.touchSession('s3', 1000);
      clock.advance(1000);
      expect(await a.engine.getSession('s3')).toBeUndefined();
    });

    it("expires the sessions of a dead node after the lease; the owner's renewals keep them", async () => {
      const clock = new ManualClock();
      const a = await node({ clock, sessionLeaseMs: 3000 });
      const b = await node({ clock, sessionLeaseMs: 3000 });
      await a.engine.createSession(record('live', 'dan'), 0);
      await a.engine.markConnected('live');
      await b.engine.createSession(record('dead', 'dan'), 0);
      await b.engine.markConnected('dead');
      await b.engine.close(); // killed: nothing renews its lease
      clock.advance(2000);
      await partsOf(a.engine).sessions.renewLeases();
      clock.advance(1500);
      expect(await a.engine.expiredSessions(clock.now())).toEqual(['dead']);
      expect(await a.engine.deleteSession('dead')).toMatchObject({ id: 'dead' });
      expect(await a.engine.getSession('live')).toBeDefined();
      expect(await a.engine.userSessions('dan')).toEqual(['live']);
    });

    it('does not delete a session listed as expired that was resumed meanwhile', async () => {
      const clock = new ManualClock();
      const a = await node({ clock });
      const b = await node({ clock });
      await a.engine.createSession(record('s4', 'erin'), 1000);
      clock.advance(1000);
      expect(await a.engine.expiredSessions(clock.now())).toEqual(['s4']);
      await b.engine.markConnected('s4'); // a resume that read the session just before it expired
      expect(await a.engine.deleteSession('s4')).toBeUndefined();
      expect(await b.engine.getSession('s4')).toBeDefined();
      // An explicit end still deletes it.
      expect(await a.engine.deleteSession('s4')).toMatchObject({ id: 's4' });
    });
  });

  describe('handled client messages', () => {
    it('stores results and remembers the last `keep` ids', async () => {
      const a = await node();
      const b = await node();
      await a.engine.createSession(record('h1', 'u'), 0);
      for (const n of range(1, 5)) {
        expect(await a.engine.getHandled('h1', `m${n}`)).toBeUndefined();
        await a.engine.putHandled('h1', `m${n}`, `res${n}`, 3);
      }
      expect(await b.engine.getHandled('h1', 'm5')).toBe('res5');
      expect(await b.engine.getHandled('h1', 'm3')).toBe('res3');
      expect(await b.engine.getHandled('h1', 'm2')).toBeUndefined();
    });

    it('makes another node wait for a running handler instead of running it again', async () => {
      const clock = new ManualClock();
      const a = await node({ clock, handlerClaimMs: 5000 });
      const b = await node({ clock, handlerClaimMs: 5000 });
      expect(await a.engine.getHandled('h2', 'm1')).toBeUndefined(); // a runs the handler
      const onB = b.engine.getHandled('h2', 'm1'); // the client resent it to b meanwhile
      await a.engine.putHandled('h2', 'm1', 'the result', 10);
      // b polls on its clock: run b's timers as they come (far below handlerClaimMs).
      expect(await clock.runUntil(onB)).toBe('the result');
    });

    it("takes over a dead node's claim after handlerClaimMs", async () => {
      const clock = new ManualClock();
      const a = await node({ clock, handlerClaimMs: 5000 });
      const b = await node({ clock, handlerClaimMs: 5000 });
      expect(await a.engine.getHandled('h3', 'm1')).toBeUndefined();
      await a.engine.close(); // died while running it
      const onB = b.engine.getHandled('h3', 'm1');
      clock.advance(5001);
      expect(await clock.runUntil(onB)).toBeUndefined();
    });
  });

  describe('injected time and randomness', () => {
    it("polls for another node's running handler on the injected clock, backing off", async () => {
      const clock = new ManualClock();
      const waits: number[] = [];
      const spy = Object.assign(Object.create(clock) as ManualClock, {
        setTimeout: (fn: () => void, ms: number) => {
          waits.push(ms);
          return clock.setTimeout(fn, ms);
        },
      });
      const a = await node({ clock, handlerClaimMs: 5000 });
      const b = await node({ clock: spy, handlerClaimMs: 5000 });
      expect(await a.engine.getHandled('h4', 'm1')).toBeUndefined();
      const onB = b.engine.getHandled('h4', 'm1');
      // Nothing moves until the clock does: b waits on a timer of the injected clock.
      await expect.poll(() => waits.length).toBe(1);
      clock.advance(20);
      await expect.poll(() => waits.length).toBe(2);
      await a.engine.putHandled('h4', 'm1', 'done', 10);
      clock.advance(40);
      expect(await onB).toBe('done');
      expect(waits).toEqual([20, 40]);
    });

    it('jitters reconnection delays with the injected random source', () => {
      expect(backoff({ initialDelayMs: 100, maxDelayMs: 1000 }, () => 0)(0)).toBe(50);
      expect(backoff({ initialDelayMs: 100, maxDelayMs: 1000 }, () => 0.5)(1)).toBe(150);
      expect(backoff({ initialDelayMs: 100, maxDelayMs: 1000 }, () => 0.5)(10)).toBe(750);
    });
  });

  describe('rooms and presence', () => {
    it('counts members per user across nodes and keeps the session record in step', async () => {
      const a = await node();
      const b = await node();
      await a.engine.createSession(record('r1', 'ann'), 0);
      await b.engine.createSession(record('r2', 'ann'), 0);
      expect(await a.engine.joinRoom('lobby', 'r1', 'ann')).toEqual({ added: true, sessions: 1 });
      expect(await b.engine.joinRoom('lobby', 'r2', 'ann')).toEqual({ added: true, sessions: 2 });
      expect(await b.engine.joinRoom('lobby', 'r3', 'ben')).toEqual({ added: true, sessions: 1 });
      expect(await a.engine.joinRoom('lobby', 'r1', 'ann')).toEqual({ added: false, sessions: 2 });
      await a.engine.joinRoom('kitchen', 'r1', 'ann');
      // Presence counts present (connected) member sessions, apart from membership.
      expect(await a.engine.presence('lobby')).toEqual([]);
      expect(await a.engine.markPresent('lobby', 'r1', 'ann', 'c1')).toEqual({ changed: true, sessions: 1 });
      expect(await b.engine.markPresent('lobby', 'r2', 'ann', 'c2')).toEqual({ changed: true, sessions: 2 });
      expect(await b.engine.markPresent('lobby', 'r3', 'ben', 'c3')).toEqual({ changed: true, sessions: 1 });
      expect(await b.engine.markPresent('lobby', 'r3', 'ben', 'c3')).toEqual({ changed: false, sessions: 1 });
      // Not a member: not marked.
      expect(await a.engine.markPresent('lobby', 'r9', 'ann', 'c9')).toEqual({ changed: false, sessions: 2 });
      expect(await a.engine.presence('lobby')).toEqual(
        expect.arrayContaining([
          { user: 'ann', sessions: 2 },
          { user: 'ben', sessions: 1 },
        ]),
      );
      // r2 resumed on another connection (another node): the old connection's grace ends in vain.
      expect(await a.engine.markPresent('lobby', 'r2', 'ann', 'c2b')).toEqual({
        changed: false,
        sessions: 2,
      });
      expect(await b.engine.markAbsent('lobby', 'r2', 'ann', 'c2')).toEqual({ changed: false, sessions: 2 });
      expect(await b.engine.markAbsent('lobby', 'r2', 'ann', 'c2b')).toEqual({ changed: true, sessions: 1 });
      expect(await b.engine.markAbsent('lobby', 'r2', 'ann')).toEqual({ changed: false, sessions: 1 });
      await a.engine.markPresent('lobby', 'r2', 'ann', 'c2c');
      expect((await b.engine.roomSessions('lobby')).sort()).toEqual(['r1', 'r2', 'r3']);
      expect(await b.engine.roomSize('lobby')).toBe(3);
      expect((await b.engine.getSession('r1'))!.rooms).toEqual(['lobby', 'kitchen']);

      await a.engine.saveStart('r1', { stream: 'room:lobby', epoch: 'e', offset: 3 });
      expect(await b.engine.leaveRoom('lobby', 'r1', 'ann')).toEqual({ removed: true, sessions: 1 });
      expect(await b.engine.leaveRoom('lobby', 'r1', 'ann')).toEqual({ removed: false, sessions: 1 });
      const r1 = (await a.engine.getSession('r1'))!;
      expect(r1.rooms).toEqual(['kitchen']);
      expect(r1.acked['room:lobby']).toBeUndefined();
      expect(r1.starts['room:lobby']).toBeUndefined();
      await a.engine.leaveRoom('lobby', 'r2', 'ann');
      await a.engine.leaveRoom('lobby', 'r3', 'ben');
      for (const [id, user] of [
        ['r1', 'ann'],
        ['r2', 'ann'],
        ['r3', 'ben'],
      ] as const)
        await a.engine.markAbsent('lobby', id, user);
      expect(await a.engine.presence('lobby')).toEqual([]);
      expect(await a.engine.roomSessions('lobby')).toEqual([]);
      expect(await a.engine.roomSize('lobby')).toBe(0);
    });
  });

  describe('per-user connection slots', () => {
    it('holds the limit across nodes', async () => {
      const a = await node();
      const b = await node();
      expect(await a.engine.acquireUserSlot('zoe', 'c1', 2)).toBe(true);
      expect(await b.engine.acquireUserSlot('zoe', 'c2', 2)).toBe(true);
      expect(await b.engine.acquireUserSlot('zoe', 'c3', 2)).toBe(false);
      expect(await a.engine.acquireUserSlot('zoe', 'c1', 2)).toBe(true); // the same connection again
      expect(await b.engine.userConnectionCount('zoe')).toBe(2);
      await a.engine.releaseUserSlot('zoe', 'c1');
      expect(await b.engine.acquireUserSlot('zoe', 'c3', 2)).toBe(true);
      expect(await a.engine.acquireUserSlot('zoe', 'c4', 0)).toBe(false);
    });

    it("lets a dead node's slots expire while the living node's renewed slots hold", async () => {
      const clock = new ManualClock();
      const a = await node({ clock, slotTtlMs: 3000 });
      const b = await node({ clock, slotTtlMs: 3000 });
      expect(await a.engine.acquireUserSlot('yan', 'live', 2)).toBe(true);
      expect(await b.engine.acquireUserSlot('yan', 'dead', 2)).toBe(true);
      await b.engine.close();
      clock.advance(2000);
      await partsOf(a.engine).slots.renew();
      expect(await a.engine.acquireUserSlot('yan', 'new', 2)).toBe(false);
      clock.advance(1001);
      expect(await a.engine.userConnectionCount('yan')).toBe(1);
      expect(await a.engine.acquireUserSlot('yan', 'new', 2)).toBe(true);
      expect(await a.engine.acquireUserSlot('yan', 'third', 2)).toBe(false);
    });
  });
}
