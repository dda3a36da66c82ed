import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 4: silent upgrades (never saying hello) from a few addresses filled every
// pending slot, and every newcomer and every resuming client was answered 1013 for as long as
// the attacker kept them open.

/** Resolves when `pred` holds, polling; fails after `ms` (a bound, not a sleep). */
async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `n` connections from `address` that never say hello. */
async function silent(url: string, address: string, n: number): Promise<RawClient[]> {
  return Promise.all(Array.from({ length: n }, () => RawClient.open(url, { localAddress: address })));
}

describe('pending-connection starvation', () => {
  it('an address holds at most pendingPerAddress silent connections; the rest get 1013', async () => {
    const PER_ADDRESS = 32;
    const { server, url, errors } = await startServer({
      limits: { pendingPerAddress: PER_ADDRESS, helloTimeoutMs: 30_000 },
    });
    recordNotes(server);
    const N = 100;
    const conns = await silent(url, '127.0.0.20', N);
    await until(() => conns.filter((c) => c.closed).length >= N - PER_ADDRESS, 'refusals');
    const refused = conns.filter((c) => c.closed);
    expect(refused).toHaveLength(N - PER_ADDRESS);
    expect(refused.every((c) => c.closed!.code === 1013)).toBe(true);
    // Another address is not affected.
    const other = await RawClient.open(url, { localAddress: '127.0.0.21' });
    await other.hello();
    expect(errors).toEqual([]);
    record('hostile-pending-per-address', { silent: N, limit: PER_ADDRESS, refused: refused.length });
  });

  it('silent connections from many addresses filling every pending slot do not keep out newcomers or resumes', async () => {
    const PENDING = 50;
    const { server, url, errors } = await startServer({
      limits: { pendingConnections: PENDING, helloTimeoutMs: 30_000 },
    });
    recordNotes(server);
    const first = await RawClient.open(url, { localAddress: '127.0.0.2' });
    const w = await first.hello();
    await first.close();
    // 10 addresses × 10 silent connections: twice the pending slots, each address under its own limit.
    const attackers: RawClient[] = [];
    for (let a = 0; a < 10; a++) attackers.push(...(await silent(url, `127.0.0.${30 + a}`, 10)));
    await until(() => attackers.filter((c) => c.closed).length >= attackers.length - PENDING, 'pending full');

    // A resume and a newcomer, while the attacker keeps every slot filled.
    const resumer = await RawClient.open(url, { localAddress: '127.0.0.2' });
    const r = await resumer.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] },
    });
    expect(r).toMatchObject({ resumed: true, sessionId: w.sessionId });
    const newcomer = await RawClient.open(url, { localAddress: '127.0.0.3' });
    expect((await newcomer.hello()).resumed).toBe(false);
    // The resume made room by dropping the oldest silent connection (the newcomer then took the
    // slot the resume left when it was welcomed).
    await until(
      () => attackers.filter((c) => c.closed).length >= attackers.length - PENDING + 1,
      'room made',
    );
    const dropped = attackers.filter((c) => c.closed);
    expect(dropped.every((c) => c.closed!.code === 1013)).toBe(true);
    expect(errors).toEqual([]);
    record('hostile-pending-starvation', {
      pendingLimit: PENDING,
      silent: attackers.length,
      addresses: 10,
      droppedSilent: dropped.length,
      resumed: true,
      newcomerWelcomed: true,
    });
  });
});
