import { type Cursor, decode } from '@holdfast/protocol';
import { MemoryEngine } from '@holdfast/server';
import { type AnyFrame, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';

// Issue 14 item 6: expensive acks. An ack frame may hold 1,024 cursors; what the server does
// for one (engine writes, answer size) must be bounded by what the session has, not by what
// the frame claims, and its answer must fit the answer's schema. Asserted on work done and
// bytes, never on time; the CPU per frame is recorded for docs/RELIABILITY.md only.

/** A memory engine that counts the cursors it was asked to store per `saveAcks` call. */
class CountingEngine extends MemoryEngine {
  readonly writes: number[] = [];
  override async saveAcks(id: string, cursors: readonly Cursor[]): Promise<void> {
    this.writes.push(cursors.length);
    return super.saveAcks(id, cursors);
  }
}

/** `n` cursors of streams the session is not subscribed to (names of `width` characters). */
function foreign(n: number, width = 10): Cursor[] {
  return Array.from({ length: n }, (_, i) => ({
    stream: `room:${String(i).padStart(width - 5, 'x')}`,
    epoch: 'e',
    offset: 1,
  }));
}

/** Send a ping and wait for its pong: every frame sent before it has been processed. */
async function settled(c: RawClient, ts: number): Promise<void> {
  c.send({ t: 'ping', ts });
  await Promise.race([
    c.next((f) => f.t === 'pong' && f.ts === ts),
    c.closedPromise().then(({ code, reason }) => {
      throw new Error(`closed ${code} ${reason} while settling`);
    }),
  ]);
}

describe('expensive acks (issue 14 item 6)', () => {
  it('answer at most 64 issues within the schema, whatever the frame holds, and keep the connection', async () => {
    const { url, errors } = await startServer({ limits: { messagesPerSecond: 10_000, burst: 10_000 } });
    const c = await RawClient.open(url);
    await c.hello();
    const sizes: Record<number, { frame: number; answer: number; issues: number }> = {};
    let ts = 0;
    for (const n of [1, 64, 65, 1024]) {
      const from = c.frames.length;
      const frame = JSON.stringify({ t: 'ack', cursors: foreign(n) });
      c.ws.send(frame);
      await settled(c, ++ts);
      const answers = c.frames.slice(from).filter((f) => f.t === 'error');
      expect(answers).toHaveLength(1);
      const text = JSON.stringify(answers[0]);
      // The protocol's own decoder accepts it (before: 1,024 issues, refused as ARRAY_TOO_LONG).
      const d = decode(text, 'server');
      expect(d.ok).toBe(true);
      const body = answers[0]!.error as { code: string; message: string; issues: unknown[] };
      expect(body.code).toBe('INVALID_ACK');
      expect(body.issues).toHaveLength(Math.min(n, 64));
      if (n > 64) expect(body.message).toContain(`${n} invalid cursors`);
      sizes[n] = { frame: frame.length, answer: text.length, issues: body.issues.length };
    }
    // Bounded: the answer to 1,024 bad cursors is no larger than to 65 (before: 77 KB).
    expect(sizes[1024]!.answer).toBeLessThan(6_000);
    expect(sizes[1024]!.answer).toBeLessThanOrEqual(sizes[65]!.answer + 10);
    expect(c.closed).toBeUndefined();
    expect(errors).toEqual([]);
    record('hostile-ack-answer', { sizes });
  });

  it('write at most one cursor per subscribed stream per ack frame, however many the frame lists', async () => {
    const engine = new CountingEngine();
    const { server, url, errors } = await startServer({
      engine,
      // 1,000 cursors of a session stream are about 80 KB.
      limits: { messagesPerSecond: 10_000, burst: 10_000, maxPayload: 256 * 1024 },
    });
    const c = await RawClient.open(url);
    const w = await c.hello();
    const own = `session:${w.sessionId}`;
    for (let n = 1; n <= 1000; n++) await server.sendToSession(w.sessionId, 'tick', { s: 'x', n });
    const msgs = await c.collect((f) => f.t === 'msg', 1000);
    const epoch = msgs[0]!.epoch as string;
    // 1,000 increasing cursors of one stream, then the three base streams at their offsets,
    // then the same stream again (lower: ignored), then foreign ones: 1,024 in all.
    const base = w.streams.map((s: AnyFrame) => ({ stream: s.stream, epoch: s.epoch, offset: s.offset }));
    const cursors: Cursor[] = [
      ...Array.from({ length: 1000 }, (_, i) => ({ stream: own, epoch, offset: i + 1 })),
      ...base.filter((b: Cursor) => b.stream !== own),
      { stream: own, epoch, offset: 3 },
      ...foreign(1024 - 1003),
    ];
    expect(cursors).toHaveLength(1024);
    const before = engine.writes.length;
    c.send({ t: 'ack', cursors });
    await settled(c, 1);
    const writes = engine.writes.slice(before);
    // One engine call with one cursor (the session stream at 1,000; the base streams were at
    // their listed offsets already). Before: 1,000 cursors in one write.
    expect(writes).toEqual([1]);
    expect((await engine.getSession(w.sessionId))!.acked[own]).toEqual({ epoch, offset: 1000 });
    // Foreign cursors in the same frame: answered, the valid ones still applied.
    expect(c.frames.filter((f) => f.t === 'error')).toHaveLength(1);
    expect(c.closed).toBeUndefined();
    expect(errors).toEqual([]);
    record('hostile-ack-writes', { cursorsInFrame: cursors.length, engineWrites: writes });
  });

  it('records the CPU an ack frame of 1,024 foreign cursors costs (figure, not asserted)', async () => {
    const { server, url } = await startServer({ limits: { messagesPerSecond: 10_000, burst: 10_000 } });
    const c = await RawClient.open(url);
    await c.hello();
    const frame = JSON.stringify({ t: 'ack', cursors: foreign(1024) });
    const frames = 200;
    const start = process.cpuUsage();
    for (let i = 0; i < frames; i++) c.ws.send(frame);
    await settled(c, 1);
    const used = process.cpuUsage(start);
    expect(c.frames.filter((f) => f.t === 'error')).toHaveLength(frames);
    expect(server.stats().counters.acks).toBe(frames);
    const answerBytes = JSON.stringify(c.frames.find((f) => f.t === 'error')).length;
    record('hostile-ack-cpu', {
      frames,
      frameBytes: frame.length,
      answerBytes,
      // Server and test client share the process: an upper bound of the server's cost.
      cpuMsPerFrame: Math.round(((used.user + used.system) / 1000 / frames) * 100) / 100,
    });
  });
});
