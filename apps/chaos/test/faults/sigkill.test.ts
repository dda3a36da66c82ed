import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { record, summary } from '../support/figures.js';
import { chaosClient, connected, defer, freePort, nextState } from '../support/fixture.js';
import { checkSequence } from '../support/ledger.js';
import { scaled } from '../support/scale.js';
import { readLog, ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/tmp.js';
import { type Peer, peer, sendNotes } from '../support/traffic.js';

// The server process is killed with SIGKILL while it streams to its clients and they stream to
// it, and a new one is started on the same port. With the in-memory engine nothing survives:
// the clients must say so (gap events), and must never hand the app a message twice.
// (With Redis and three nodes: covered in packages/redis.)

describe('SIGKILL of an in-memory server mid-stream', () => {
  it('clients reconnect to the restarted server and report the gap, never a duplicate', async () => {
    const CLIENTS = 3;
    const AFTER = scaled(1000);
    const NOTES = scaled(1500);
    const port = await freePort();
    const handledLog = join(tempDir(), 'handled.log');
    const config = { port, handledLog, heartbeat: { intervalMs: 500, timeoutMs: 2000 }, sweepIntervalMs: 50 };
    const a = await ServerProcess.start({ name: 'A', ...config });
    defer(() => a.stop());

    const peers: Peer[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const p = peer(`c${i}`, chaosClient(`ws://127.0.0.1:${port}/ws`));
      await p.client.connect();
      await p.client.join('feed');
      peers.push(p);
    }
    await a.request('pump', 'feed', 10_000_000, 1000);
    const notes = peers.map((p) => sendNotes(p, NOTES, { ratePerSec: 300, window: 50 }));
    // Mid-stream: both directions flowing.
    await expect
      .poll(() => peers.every((p) => p.received.get('A').length >= 500 && p.resolved.size >= 200), {
        timeout: 20_000,
      })
      .toBe(true);

    const resolvedBeforeKill = new Map(peers.map((p) => [p.name, new Set(p.resolved)]));
    const backOn = peers.map((p) =>
      nextState(p.client, (s) => s.status === 'connected').then(() => Date.now()),
    );
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    expect(a.exit?.signal).toBe('SIGKILL');
    const b = await ServerProcess.start({ name: 'B', ...config });
    defer(() => b.stop());
    const upAt = Date.now();
    const reconnectedAt = await Promise.all(backOn);
    // Remembered rooms are joined again on the new session; then B streams a known count.
    await expect.poll(() => b.request<number>('roomConnections', 'feed'), { timeout: 10_000 }).toBe(CLIENTS);
    await b.request('pump', 'feed', AFTER, 1000);
    await Promise.all(notes);
    await expect
      .poll(() => peers.every((p) => p.received.get('B').length >= AFTER), { timeout: 30_000 })
      .toBe(true);
    for (const p of peers) await connected(p.client);

    // Server to client: what came from A is a prefix of A's stream, once each and in order;
    // B's stream is complete; the loss is announced as gaps (the session expired with A).
    for (const p of peers) {
      const fromA = p.received.get('A');
      expect(checkSequence(fromA)).toMatchObject({ duplicates: 0, outOfOrder: 0 });
      expect(fromA).toEqual(Array.from({ length: fromA.length }, (_, i) => i + 1));
      expect(checkSequence(p.received.get('B'), AFTER)).toMatchObject({
        missing: 0,
        duplicates: 0,
        outOfOrder: 0,
      });
      expect(p.sessions.size).toBe(2);
      expect(p.gaps.filter((g) => g.reason === 'expired').map((g) => g.stream)).toEqual(
        expect.arrayContaining(['room:feed', 'broadcast', expect.stringMatching(/^session:/)]),
      );
    }

    // Client to server: every resolved note was handled; those resolved before the kill exactly
    // once (they are never resent); order holds per sender on each server.
    const log = readLog(handledLog);
    const runs = new Map<string, string[]>();
    for (const r of log.runs) {
      const id = `${r.c}#${r.k}`;
      runs.set(id, [...(runs.get(id) ?? []), r.server]);
    }
    let twice = 0;
    for (const p of peers) {
      expect(p.rejected).toEqual([]);
      expect(p.resolved.size).toBe(NOTES);
      for (let k = 1; k <= NOTES; k++) {
        const on = runs.get(`${p.name}#${k}`) ?? [];
        expect(on.length).toBeGreaterThanOrEqual(1);
        if (resolvedBeforeKill.get(p.name)!.has(k)) expect(on).toEqual(['A']);
        if (on.length > 1) twice++;
      }
      for (const server of ['A', 'B']) {
        const order = log.runs.filter((r) => r.c === p.name && r.server === server).map((r) => r.k);
        expect(checkSequence(order)).toMatchObject({ duplicates: 0, outOfOrder: 0 });
      }
    }
    // Only messages whose answer was lost in the kill can run again (the new process has no
    // memory of handled ids): at most the in-flight window per client.
    expect(twice).toBeLessThanOrEqual(50 * CLIENTS);
    expect(log.lines.filter((l) => l.startsWith('E '))).toEqual([]);

    record('sigkill', {
      clients: CLIENTS,
      fromABeforeKill: peers.map((p) => p.received.get('A').length),
      fromBAfterRestart: AFTER * CLIENTS,
      notesResolved: NOTES * CLIENTS,
      notesHandledOnBothServers: twice,
      restartMs: upAt - killedAt,
      reconnectAfterKillMs: summary(reconnectedAt.map((t) => t - killedAt)),
      gapEvents: peers.map((p) => p.gaps.map((g) => `${g.stream.replace(/:.*/, ':*')}/${g.reason}`)),
    });
  });
});
