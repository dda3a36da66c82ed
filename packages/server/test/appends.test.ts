import { ErrorCode } from '@holdfast/protocol';
import { SpecClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../src/index.js';
import { MemoryEngine } from '../src/index.js';
import { defer, startServer } from './support/fixture.js';

/** A spec-literal client (§10.3 included), connected, closed after the test. */
async function spec(url: string): Promise<SpecClient> {
  const c = new SpecClient({ url });
  defer(() => c.close());
  await c.connect();
  return c;
}

const tokens = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `t${from + i} `);

/** The answer's value as the client holds it (open or done). */
function heldValue(c: SpecClient, stream: string, start: number): unknown {
  for (const [key, g] of c.openMessages) if (key === `${stream}|${g.epoch}|${start}`) return g.value;
  for (const [key, v] of c.doneMessages)
    if (key.startsWith(`${stream}|`) && key.endsWith(`|${start}`)) return v;
  return undefined;
}

/**
 * Every delta folded exactly once, in order: each value the client went through is a prefix
 * of the full text (a duplicate or a gap breaks it), and the last one is the full text.
 */
function expectExactlyOnce(c: SpecClient, stream: string, start: number, full: string): void {
  const events = c.growth.filter((g) => g.stream === stream && g.start === start);
  expect(events.length).toBeGreaterThan(0);
  let previous = '';
  for (const e of events) {
    const v = e.value as string;
    expect(full.startsWith(v), `"${v.slice(-20)}" is not a prefix`).toBe(true);
    expect(v.length).toBeGreaterThanOrEqual(previous.length);
    previous = v;
  }
  expect(previous).toBe(full);
  expect(c.orphanApps).toEqual([]);
}

describe('appends (PROTOCOL.md §10.1-10.4)', () => {
  it('announces the extensions and delivers a growing message live, in order', async () => {
    const { server, url } = await startServer();
    const a = await spec(url);
    expect(a.welcomes[0]!.extensions).toEqual(['appends', 'rewind']);
    await server.join(a.session!.sessionId, 'r');
    const w = await server.startMessage({ room: 'r' }, 'answer', 'Hello');
    expect(w).toMatchObject({ stream: 'room:r', start: 1, done: false, value: 'Hello' });
    const parts = tokens(0, 50);
    // Not awaited: the writer keeps the calls' order.
    for (const t of parts) void w.append(t);
    expect(w.value).toBe(`Hello${parts.join('')}`);
    const last = await w.end('!');
    expect(w.done).toBe(true);
    expect(last.offset).toBe(52);
    await a.until(() => a.doneMessages.size === 1);
    expectExactlyOnce(a, 'room:r', 1, `Hello${parts.join('')}!`);
    // Live: the start, then one app per delta, each applied once.
    expect(a.growth.map((g) => g.kind)).toEqual(['start', ...parts.map(() => 'app'), 'app']);
    expect(a.cursors.get('room:r')!.offset).toBe(52);
  });

  it('folds structured deltas with the declared fold', async () => {
    const { server, url } = await startServer();
    const steps: unknown[] = [];
    const a = new SpecClient({
      url,
      fold: (_t, v, d) => {
        steps.push(d);
        return { steps: [...(v as { steps: string[] }).steps, (d as { step: string }).step] };
      },
    });
    defer(() => a.close());
    await a.connect();
    const w = await server.startMessage({ session: a.session!.sessionId }, 'run', { steps: [] });
    await w.append({ step: 'plan' });
    await w.end({ step: 'done' });
    expect(w.value).toEqual({ steps: ['plan', 'done'] });
    await a.until(() => a.doneMessages.size === 1);
    expect([...a.doneMessages.values()]).toEqual([{ steps: ['plan', 'done'] }]);
    const h = await server.history({ session: a.session!.sessionId });
    expect(h.messages).toEqual([
      {
        offset: 3,
        start: 1,
        type: 'run',
        data: { steps: ['plan', 'done'] },
        open: false,
        ts: expect.any(Number),
      },
    ]);
  });

  for (const where of ['before the start', 'inside the appends', 'after a compaction'] as const) {
    it(`resumes mid-answer with the cursor ${where}: every delta once, in order`, async () => {
      const { server, url } = await startServer();
      const a = await spec(url);
      await server.join(a.session!.sessionId, 'r');
      await a.until(() => a.rooms.has('r'));
      await server.sendToRoom('r', 'tick', { n: 0 });
      const before = where === 'before the start';
      let w = before ? undefined : await server.startMessage({ room: 'r' }, 'answer', '>');
      // 1,500 tokens of ~6 bytes: several snapshots (4 KiB of parts each at least).
      const first = where === 'after a compaction' ? tokens(0, 1500) : tokens(0, 20);
      if (w) for (const t of first) void w.append(t);
      await a.until(() => a.deliveries.length === 1 && (!w || a.growth.length === 1 + first.length));
      await a.close();
      w ??= await server.startMessage({ room: 'r' }, 'answer', '>');
      const rest = tokens(1500, 3000);
      for (const t of rest) void w.append(t);
      await a.connect();
      for (const t of tokens(3000, 3010)) void w.append(t);
      await w.end();
      await a.until(() => a.doneMessages.size === 1);
      const full = `>${(before ? [] : first).join('')}${rest.join('')}${tokens(3000, 3010).join('')}`;
      expectExactlyOnce(a, 'room:r', w.start, full);
      expect(a.deliveries.map((d) => d.data)).toEqual([{ n: 0 }]);
      // The catch-up was a snapshot and its few pending parts, not one frame per delta.
      const resumed = a.frames.slice(a.frames.indexOf(a.welcomes[1]!));
      expect(resumed.filter((f) => f.t === 'app').length).toBeLessThan(1000);
      expect(resumed.some((f) => f.t === 'msg' && f.start === w.start)).toBe(true);
    });
  }

  it('gives a late joiner the folded text, then the rest live: no duplicate, no gap', async () => {
    const { server, url } = await startServer({ authorizeJoin: () => true });
    const w = await server.startMessage({ room: 'r' }, 'answer', '');
    const first = tokens(0, 2000);
    for (const t of first) void w.append(t);
    await server.sendToRoom('r', 'tick', { n: 1 });
    const b = await spec(url);
    const joined = b.join('r');
    // Deltas racing with the join: the open message is sent before any live frame after the head.
    for (const t of tokens(2000, 2100)) void w.append(t);
    expect((await joined).ok).toBe(true);
    for (const t of tokens(2100, 2200)) void w.append(t);
    await w.end();
    await b.until(() => b.doneMessages.size === 1);
    expectExactlyOnce(b, 'room:r', w.start, tokens(0, 2200).join(''));
    expect(b.growth[0]!.kind).toBe('snapshot');
    expect((b.growth[0]!.value as string).length).toBeGreaterThan(5000);
    // Caught up through a snapshot: far fewer frames than deltas.
    expect(b.growth.length).toBeLessThan(1000);
    // The plain message before the join is not part of the subscription.
    expect(b.deliveries).toEqual([]);
  });

  it('sends open snapshots to a client resuming after a reload (hello.resume.snapshots)', async () => {
    const { server, url } = await startServer();
    const a = await spec(url);
    const sid = a.session!.sessionId;
    const w = await server.startMessage({ session: sid }, 'answer', 'x');
    for (const t of tokens(0, 100)) void w.append(t);
    await a.until(() => a.growth.length === 101);
    await a.close();
    a.reload();
    await a.connect();
    await a.until(() => a.openMessages.size === 1);
    for (const t of tokens(100, 110)) void w.append(t);
    await w.end();
    await a.until(() => a.doneMessages.size === 1);
    expect(heldValue(a, `session:${sid}`, w.start)).toBe(`x${tokens(0, 110).join('')}`);
    expect(a.orphanApps).toEqual([]);
  });

  it('gives a new session, and a session joined while away, the open messages first', async () => {
    const { server, url } = await startServer();
    const w = await server.startMessage({ broadcast: true }, 'answer', 'b');
    const v = await server.startMessage({ room: 'r' }, 'answer', 'r');
    await w.append('1');
    await v.append('1');
    const a = await spec(url);
    await a.close();
    await server.join(a.session!.sessionId, 'r');
    await a.connect();
    await w.end('2');
    await v.end('2');
    await a.until(() => a.doneMessages.size === 2);
    expect([...a.doneMessages.values()].sort()).toEqual(['b12', 'r12']);
    expect(a.orphanApps).toEqual([]);
  });

  it('keeps one entry per compacted message, about the size of its text', async () => {
    const engine = new MemoryEngine();
    const { server } = await startServer({ engine });
    const w = await server.startMessage({ room: 'r' }, 'answer', '');
    const parts = tokens(0, 5000);
    for (const t of parts) void w.append(t);
    await w.end();
    const text = parts.join('');
    expect(engine.stats().messages).toBe(1);
    expect(engine.stats().bytes).toBeLessThan(text.length + 200);
    const h = await server.history({ room: 'r' });
    expect(h.messages).toHaveLength(1);
    expect(h.messages[0]!).toMatchObject({ start: 1, offset: 5002, open: false });
    expect(h.messages[0]!.data === text).toBe(true);
  });

  it('writes O(text) bytes to the store for a 20,000-delta message', async () => {
    let written = 0;
    class Counting extends MemoryEngine {
      override append(...args: Parameters<Engine['append']>) {
        written += args[1].length;
        return super.append(...args);
      }
      override appendPart(...args: Parameters<NonNullable<Engine['appendPart']>>) {
        written += args[2].length + (args[3]?.snapshot?.length ?? 0);
        return super.appendPart(...args);
      }
    }
    const { server } = await startServer({ engine: new Counting() });
    const w = await server.startMessage({ room: 'r' }, 'answer', '');
    let bodies = 0;
    for (let i = 0; i < 20_000; i++) {
      const t = `w${i % 10} `;
      bodies += `"start":1,"data":${JSON.stringify(t)}`.length;
      void w.append(t);
    }
    await w.end();
    const text = (w.value as string).length;
    expect(text).toBe(60_000);
    // The deltas themselves plus snapshots growing geometrically: linear, never O(text x deltas)
    // (a snapshot per delta would be ~600 MB here).
    expect(written).toBeLessThan(3 * bodies);
  });

  it('rejects appends to a closed message with MESSAGE_CLOSED, and bad input with typed errors', async () => {
    const { server } = await startServer({ retention: { room: { maxMessages: 2 } } });
    await expect(
      server.startMessage({ room: 'r' }, 'tick' as never, { n: 1 } as never),
    ).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
    });
    await expect(server.startMessage({ room: 'r' }, 'answer', 5 as never)).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
    });
    const w = await server.startMessage({ room: 'r' }, 'answer', 'a');
    await expect(w.append(7 as never)).rejects.toMatchObject({ code: ErrorCode.ValidationFailed });
    expect(w.value).toBe('a');
    await w.end('b');
    await expect(w.append('c')).rejects.toMatchObject({ code: ErrorCode.MessageClosed });
    // Dropped by retention (2 entries per room stream) while open.
    const v = await server.startMessage({ room: 'r' }, 'answer', '');
    await server.sendToRoom('r', 'tick', { n: 1 });
    await server.sendToRoom('r', 'tick', { n: 2 });
    await expect(v.append('late')).rejects.toMatchObject({ code: ErrorCode.MessageClosed });
    expect(v.done).toBe(true);
    await expect(v.append('again')).rejects.toMatchObject({ code: ErrorCode.MessageClosed });
    await expect(server.history({ room: 'r' }, { count: 0 })).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
    });
  });
});
