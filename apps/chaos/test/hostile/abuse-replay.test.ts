import { cursorsOf, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary } from '../support/hostile.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 1: a reader that stops reading during a resume replay. The paced replay used
// to wait for its socket forever while every live message of the connection's other streams
// was held in memory: no 4008, memory growing without bound.

/** Resolves on the next macrotask: lets the server's socket writes and callbacks run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('slow reader during a resume replay', () => {
  it('is closed 4008, and the live messages held for it stay under the high-water mark', async () => {
    const MARK = 256 * 1024;
    const { server, url, errors } = await startServer({
      limits: { highWaterMark: MARK },
      retention: { maxMessages: 10_000, maxBytes: 256 * 1024 * 1024 },
    });
    recordNotes(server);
    const canary = await Canary.open(url);
    const first = await RawClient.open(url);
    const w = await first.hello();
    await first.close();
    // History far larger than the loopback socket buffers (so the replay must wait for a drain).
    const pad = 'h'.repeat(8 * 1024);
    const HISTORY = 4000;
    for (let n = 0; n < HISTORY; n++)
      await server.sendToSession(w.sessionId, 'tick', { s: 'history', n, pad });

    // Counted when the close starts (the close handshake cannot finish: the reader is not reading).
    const slowCloses = (): number => server.stats().counters.closes['4008'] ?? 0;
    const reader = await RawClient.open(url);
    // Stop reading: the client's socket takes nothing more from the kernel.
    (reader.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    reader.send({
      t: 'hello',
      version: 1,
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(first.frames) },
    });

    // Live messages to the user's stream (another stream of the same connection) while the
    // replay is stuck: at most 64 times the mark, stopping at the 4008.
    const live = 'l'.repeat(2 * 1024);
    const LIMIT = Math.ceil((64 * MARK) / live.length);
    let sent = 0;
    let maxHeld = 0;
    while (sent < LIMIT && slowCloses() === 0) {
      for (let i = 0; i < 16; i++)
        await server.sendToUser(w.user, 'tick', { s: 'live', n: sent++, pad: live });
      await turn();
      maxHeld = Math.max(maxHeld, server.stats().heldBytes);
    }
    expect(slowCloses()).toBe(1);
    // The held bytes (with the socket's buffer) are bounded by the mark.
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThanOrEqual(MARK);
    expect(server.stats().heldBytes).toBe(0);
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-replay-slow-reader', {
      markBytes: MARK,
      historyMessages: HISTORY,
      liveSentBefore4008: sent,
      liveBytesSent: sent * live.length,
      maxHeldBytes: maxHeld,
    });
  });
});
