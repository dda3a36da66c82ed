import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 7: per-address limits were keyed on the exact socket address. An IPv6 client
// owns a /64 and rotates through it; behind a proxy every client shared the proxy's address
// (the limit was global), with no way to trust X-Forwarded-For from the proxy alone.

/** Open a connection and say hello; the close code if refused, 'welcome' if not. */
async function attempt(url: string, localAddress: string, xff?: string): Promise<number | 'welcome'> {
  const c = await RawClient.open(url, {
    localAddress,
    ...(xff ? { headers: { 'X-Forwarded-For': xff } } : {}),
  });
  try {
    await c.hello();
    return 'welcome';
  } catch {
    return (await c.closedPromise()).code;
  }
}

describe('per-address limits', () => {
  it('behind a trusted proxy, count per forwarded client, IPv6 by /64; X-Forwarded-For from others ignored', async () => {
    const { server, url, errors } = await startServer({
      trustedProxies: ['127.0.0.1'],
      limits: { connectionsPerAddress: 3 },
    });
    recordNotes(server);
    const results: Record<string, (number | 'welcome')[]> = {};
    const run = async (label: string, localAddress: string, xffs: string[]) => {
      results[label] = [];
      for (const xff of xffs) results[label]!.push(await attempt(url, localAddress, xff));
    };
    // One IPv6 client rotating through its /64: the fourth is over the limit.
    await run('v6 same /64', '127.0.0.1', [
      '2001:db8:0:1::1',
      '2001:db8:0:1::2',
      '2001:db8:0:1::3',
      '2001:db8:0:1:ffff::9',
    ]);
    // Another /64 and other IPv4 clients through the same proxy: their own limits.
    await run('v6 other /64', '127.0.0.1', ['2001:db8:0:2::1']);
    await run('v4 clients', '127.0.0.1', ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4']);
    // A forged chain: the client's own entries left of the proxy's are not believed.
    await run('forged chain', '127.0.0.1', ['6.6.6.6, 198.51.100.1']);
    // Not from a trusted proxy: X-Forwarded-For is ignored, the socket address counts.
    await run('untrusted peer', '127.0.0.2', ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']);

    expect(results['v6 same /64']).toEqual(['welcome', 'welcome', 'welcome', 4429]);
    expect(results['v6 other /64']).toEqual(['welcome']);
    expect(results['v4 clients']).toEqual(['welcome', 'welcome', 'welcome', 'welcome']);
    expect(results['forged chain']).toEqual(['welcome']);
    expect(results['untrusted peer']).toEqual(['welcome', 'welcome', 'welcome', 4429]);
    const addresses = server.connectionsList().map((c) => c.remoteAddress);
    expect(addresses).toContain('2001:db8:0:1::1');
    expect(addresses).toContain('198.51.100.4');
    expect(addresses).not.toContain('6.6.6.6');
    expect(addresses.filter((a) => a === '127.0.0.2')).toHaveLength(3);
    expect(errors).toEqual([]);
    record('hostile-per-address-keys', { limit: 3, results });
  });
});
