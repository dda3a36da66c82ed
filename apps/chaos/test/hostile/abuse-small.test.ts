import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AuthRequest, adminHandler } from '@holdfast/server';
import { jwtAuthenticator } from '@holdfast/server/jwt';
import { RawClient } from '@holdfast/testkit';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { defer, startServer } from '../support/fixture.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 9: the smaller findings.

describe('query token redaction', () => {
  it('redacts the exact `token` parameter, not the first `token=` substring', async () => {
    const seen: string[] = [];
    const { server, url, errors } = await startServer({
      allowQueryToken: true,
      authenticate: (req: AuthRequest) => {
        seen.push(req.url);
        return req.token === 'SECRET-JWT' ? { user: 'alice' } : null;
      },
    });
    recordNotes(server);
    const c = await RawClient.open(`${url}?xtoken=1&token=SECRET-JWT&mytoken=2`);
    expect((await c.hello()).user).toBe('alice');
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toContain('SECRET');
    expect(seen[0]).toBe('/ws?xtoken=1&token=REDACTED&mytoken=2');
    expect(errors).toEqual([]);
  });
});

describe('jwtAuthenticator subjects', () => {
  it('refuses a sub the wire would refuse as a user stream (control characters, too long)', async () => {
    const secret = 'a-secret-of-at-least-32-bytes-length!!';
    const sign = (sub: string) =>
      new SignJWT({ sub })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
    const { server, url, errors } = await startServer({ authenticate: jwtAuthenticator({ secret }) });
    recordNotes(server);
    const outcome = async (sub: string) => {
      const c = await RawClient.open(url);
      try {
        return (await c.hello({ token: await sign(sub) })).user as string;
      } catch {
        return (await c.closedPromise()).code;
      }
    };
    const subs = {
      bell: 'al\u0007ice',
      newline: 'bob\n',
      c1: 'eve\u0085',
      long: 'u'.repeat(200),
      ok: 'alice',
    };
    const results = Object.fromEntries(
      await Promise.all(Object.entries(subs).map(async ([k, v]) => [k, await outcome(v)] as const)),
    );
    expect(results).toEqual({ bell: 4401, newline: 4401, c1: 4401, long: 4401, ok: 'alice' });
    expect(errors).toEqual([]);
    record('hostile-jwt-subjects', results);
  });
});

describe('admin idle', () => {
  it('POST …/idle without minutes is a 400 and closes nothing', async () => {
    const { server, url, errors } = await startServer();
    recordNotes(server);
    const admin = adminHandler(server, { authorize: () => true });
    const http = createHttpServer(admin);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    defer(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/admin`;
    const c = await RawClient.open(url);
    await c.hello();
    for (const query of ['', '?minutes=', '?minutes=%20']) {
      const r = await fetch(`${base}/idle${query}`, { method: 'POST' });
      expect(r.status).toBe(400);
      await r.json();
    }
    expect(server.countConnections()).toBe(1);
    expect(c.closed).toBeUndefined();
    expect(errors).toEqual([]);
  });
});

describe('origins unset with an authenticate hook', () => {
  it('warns at startup (cookies make any website able to connect as the user)', async () => {
    const warnings: unknown[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (o: object, m?: string) => warnings.push({ o, m }),
    };
    await startServer({ logger, authenticate: () => ({ user: 'u' }) });
    expect(JSON.stringify(warnings)).toContain('origins');
    const quiet: unknown[] = [];
    await startServer({
      logger: { ...logger, warn: (o: object) => quiet.push(o) },
      authenticate: () => ({ user: 'u' }),
      origins: ['https://app.example.com'],
    });
    expect(quiet).toEqual([]);
  });
});

describe('memory engine stream logs', () => {
  it('drops the logs of rooms published to once when they are empty and unwatched; a later member sees no gap', async () => {
    const { server, url, errors } = await startServer({
      retention: { maxAgeMs: 200 },
      sweepIntervalMs: 20,
      authorizeJoin: () => true,
    });
    recordNotes(server);
    const ROOMS = 1000;
    for (let i = 0; i < ROOMS; i++) await server.sendToRoom(`r${i}`, 'tick', { s: 'r', n: i });
    const peak = server.stats().retention!.streams;
    expect(peak).toBeGreaterThanOrEqual(ROOMS);
    // Bounded by a deadline, not timed: the sweep drops them once their messages aged out.
    const end = Date.now() + 10_000;
    while (server.stats().retention!.streams > 0) {
      if (Date.now() > end) throw new Error(`still ${server.stats().retention!.streams} streams`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A room used again: a member that joins gets its messages, with no gap.
    const c = await RawClient.open(url);
    await c.hello();
    c.send({ t: 'join', id: 'j', room: 'r7' });
    await c.next((f) => f.t === 'res' && f.id === 'j');
    await server.sendToRoom('r7', 'tick', { s: 'r', n: 1 });
    const m = await c.next((f) => f.t === 'msg' && f.stream === 'room:r7');
    expect(m.offset).toBe(1);
    expect(c.frames.filter((f) => f.t === 'gap')).toEqual([]);
    expect(errors).toEqual([]);
    record('hostile-idle-stream-logs', { rooms: ROOMS, peakStreams: peak, afterSweep: 0 });
  });
});
