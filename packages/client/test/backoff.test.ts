import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_CLIENT_OPTIONS, retryDelay } from '../src/index.js';
import { clientOf, nextEvent, reach, recordStates } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { startFakeServer } from './support/fake-server.js';

const policy = DEFAULT_CLIENT_OPTIONS.reconnect;
const justBelowOne = 1 - Number.EPSILON;

describe('backoffDelay', () => {
  it('puts the first retry uniformly in [500, 1000] ms by default', () => {
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 0.5)).toBe(750);
    expect(backoffDelay(1, policy, () => justBelowOne)).toBe(1000);
  });

  it('doubles the cap per attempt up to maxDelayMs, keeping the minimum', () => {
    const caps = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
    caps.forEach((cap, i) => {
      expect(backoffDelay(i + 1, policy, () => 0)).toBe(500);
      expect(backoffDelay(i + 1, policy, () => justBelowOne)).toBe(cap);
    });
    expect(backoffDelay(1000, policy, () => justBelowOne)).toBe(30000);
  });

  it('stays within [min, cap] for any random value', () => {
    for (let attempt = 1; attempt <= 20; attempt++) {
      const cap = Math.min(30000, 1000 * 2 ** (attempt - 1));
      for (let r = 0; r < 1; r += 0.01) {
        const d = backoffDelay(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(500);
        expect(d).toBeLessThanOrEqual(cap);
      }
    }
  });

  it('lowers the minimum to the cap when the cap is smaller', () => {
    expect(backoffDelay(1, { ...policy, initialDelayMs: 100 }, () => 0.5)).toBe(100);
    expect(backoffDelay(1, { ...policy, initialDelayMs: 0, minDelayMs: 0 }, () => 0.5)).toBe(0);
  });

  it('honours a longer retryAfterMs hint from the close reason, never a shorter one', () => {
    expect(retryDelay(1, policy, () => 0, 'Rate limited; retryAfterMs=5000')).toBe(5000);
    expect(retryDelay(1, policy, () => 0, 'Rate limited; retryAfterMs=10')).toBe(500);
    expect(retryDelay(1, policy, () => 0, 'no hint')).toBe(500);
  });
});

describe('reconnect policy', () => {
  it('waits the jittered delay before retrying: delay - 1 does nothing, + 1 retries', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock, random: () => 0.5 });
    await client.connect();
    const first = await server.nextConnection();

    const change = nextEvent(client, 'state', ({ next }) => next.status === 'reconnecting');
    first.close(1012, 'restart');
    const { next, reason } = await change;
    expect(reason).toBe('socket-closed');
    expect(next).toEqual({
      status: 'reconnecting',
      attempt: 1,
      delayMs: 750,
      retryAt: clock.now() + 750,
      lastClose: { code: 1012, reason: 'restart' },
    });

    await clock.advance(749);
    expect(client.state.status).toBe('reconnecting');
    expect(server.connections).toHaveLength(1);
    await clock.advance(1);
    expect(client.state).toEqual({ status: 'connecting', attempt: 1 });
    await server.nextConnection();
    await reach(client, 'connected');
    expect(client.state).toEqual({ status: 'connected', sessionId: 's1', resumed: true });
  });

  it.each([4401, 4403, 4406, 4409, 4000, 4400, 1009, 4413, 1008])(
    'stops on terminal close code %i (state failed) until connect() is called again',
    async (code) => {
      await using server = await startFakeServer({
        welcome: (_hello, conn) => {
          if (server.connections.length === 1) {
            conn.close(code, 'nope');
            return false;
          }
          return {};
        },
      });
      const clock = new ManualClock();
      const client = clientOf(server, { clock });
      const states = recordStates(client);

      const error = await client.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'CLIENT_CLOSED', details: { code, reason: 'nope' } });
      expect(client.state).toEqual({ status: 'failed', code, reason: 'nope' });
      expect(states).toEqual(['connecting:connect', 'failed:terminal-close']);

      await clock.advance(120_000);
      expect(server.connections).toHaveLength(1);
      expect(clock.pending).toBe(0);

      await client.connect();
      expect(client.state.status).toBe('connected');
    },
  );

  it('waits at least the retryAfterMs of the close reason', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock, random: () => 0.5 });
    await client.connect();
    const change = nextEvent(client, 'state', ({ next }) => next.status === 'reconnecting');
    (await server.nextConnection()).close(4429, 'Rate limited; retryAfterMs=5000');
    expect((await change).next).toMatchObject({ attempt: 1, delayMs: 5000 });

    await clock.advance(4999);
    expect(client.state.status).toBe('reconnecting');
    await clock.advance(1);
    expect(client.state.status).toBe('connecting');
    await reach(client, 'connected');
  });

  it('resets the attempt counter only after the connection stayed up stableAfterMs', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock, random: () => 0.5, reconnect: { stableAfterMs: 10_000 } });
    await client.connect();

    const dropAndRetry = async () => {
      const change = nextEvent(client, 'state', ({ next }) => next.status === 'reconnecting');
      (await server.nextConnection()).close(1012, 'restart');
      const { next } = await change;
      if (next.status !== 'reconnecting') throw new Error('unreachable');
      await clock.advance(next.delayMs);
      await reach(client, 'connected');
      return next;
    };

    expect(await dropAndRetry()).toMatchObject({ attempt: 1, delayMs: 750 });
    await clock.advance(9_999);
    expect(await dropAndRetry()).toMatchObject({ attempt: 2, delayMs: 1250 });
    await clock.advance(10_000);
    expect(await dropAndRetry()).toMatchObject({ attempt: 1, delayMs: 750 });
  });

  it('gives up after maxAttempts retries; 0 means no retry at all', async () => {
    await using server = await startFakeServer({
      welcome: (_hello, conn) => {
        conn.close(1012, 'restart');
        return false;
      },
    });
    const clock = new ManualClock();
    const none = clientOf(server, { clock, reconnect: { maxAttempts: 0 } });
    await expect(none.connect()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(none.state).toEqual({ status: 'failed', code: 1012, reason: 'restart' });

    const two = clientOf(server, { clock, reconnect: { maxAttempts: 2 } });
    const states = recordStates(two);
    const done = two.connect().catch((e: unknown) => e);
    await reach(two, 'reconnecting');
    await clock.advance(1000);
    await nextEvent(two, 'state', ({ next }) => next.status === 'reconnecting');
    await clock.advance(2000);
    await reach(two, 'failed');
    expect(await done).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(states).toEqual([
      'connecting:connect',
      'reconnecting:socket-closed',
      'connecting:retry',
      'reconnecting:socket-closed',
      'connecting:retry',
      'failed:max-attempts',
    ]);
  });

  it('retries at once when connect() is called while waiting to retry', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const states = recordStates(client);
    await client.connect();
    const reconnecting = reach(client, 'reconnecting');
    (await server.nextConnection()).close(1012, 'restart');
    await reconnecting;
    const again = client.connect();
    expect(client.state).toEqual({ status: 'connecting', attempt: 1 });
    await again;
    expect(states).toEqual([
      'connecting:connect',
      'connected:welcome',
      'reconnecting:socket-closed',
      'connecting:connect',
      'connected:welcome',
    ]);
    expect(clock.pending).toBe(2); // the stable timer and the heartbeat watchdog: no retry timer left
  });

  it('retries a connection that gets no welcome within timeouts.connectMs', async () => {
    await using server = await startFakeServer({
      welcome: () => (server.connections.length === 1 ? false : {}),
    });
    const clock = new ManualClock();
    const client = clientOf(server, { clock, timeouts: { connectMs: 3000 } });
    const connected = client.connect();
    const first = await server.nextConnection();
    await first.next('hello');
    await clock.advance(2999);
    expect(client.state.status).toBe('connecting');
    await clock.advance(1);
    expect(client.state).toMatchObject({
      status: 'reconnecting',
      lastClose: { code: 4408, reason: 'Connect timeout' },
    });
    await first.closed;
    await clock.advance(1000);
    await connected;
  });
});
