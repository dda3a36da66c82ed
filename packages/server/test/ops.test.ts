import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { adminHandler } from '../src/index.js';
import { metricsHandler } from '../src/metrics.js';
import { defer, startServer } from './support/fixture.js';

describe('operations', () => {
  it('counts in stats() and serves Prometheus metrics from its own registry', async () => {
    const { server, connect } = await startServer();
    server.handle('note', () => undefined);
    const c = await connect();
    const w = await c.hello();
    c.send({ t: 'pub', id: '1', type: 'note', data: { n: 1 } });
    await c.next((f) => f.t === 'res');
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c.next((f) => f.t === 'msg');
    const s = server.stats();
    expect(s).toMatchObject({ connections: 1, sessions: 1, users: 1, pendingConnections: 0, inflight: 0 });
    expect(s.counters).toMatchObject({ messagesIn: 1, published: 1, deliveries: 1, sessionsCreated: 1 });
    expect(s.retention).toMatchObject({ messages: 1 });

    const metrics = metricsHandler(server);
    const other = metricsHandler(server); // no global registry: two handlers do not clash
    const http = createHttpServer(metrics);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    defer(async () => http.close());
    const text = await (
      await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/metrics`)
    ).text();
    expect(text).toContain('holdfast_connections 1');
    expect(text).toContain('holdfast_messages_in_total 1');
    expect(text).toContain('# TYPE holdfast_deliveries_total counter');
    expect(other.registry).not.toBe(metrics.registry);
  });

  it('metrics: latency histograms of handlers, requests and replays, and client-initiated disconnects', async () => {
    const { server, connect } = await startServer();
    server.handle('add', ({ a, b }) => a + b);
    server.handle('boom', async () => {
      throw new Error('crashed');
    });
    server.on('error', () => {}); // heard: not printed
    const metrics = metricsHandler(server);
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
      const values = (metric?.values ?? []) as {
        metricName?: string;
        labels: Record<string, unknown>;
        value: number;
      }[];
      return values
        .filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
        .reduce((sum, v) => sum + v.value, 0);
    };
    const c = await connect();
    const w = await c.hello();
    expect(await value('holdfast_replay_duration_seconds', { le: '+Inf' })).toBe(1);
    c.send({ t: 'pub', id: 'r1', type: 'add', data: { a: 1, b: 2 } });
    c.send({ t: 'pub', id: 'r2', type: 'boom', data: { kind: 'plain' } });
    c.send({ t: 'pub', id: 'r3', type: 'no-such-type', data: {} });
    await c.collect((f) => f.t === 'res', 3);
    expect(await value('holdfast_handler_duration_seconds', { le: '+Inf', type: 'add', outcome: 'ok' })).toBe(
      1,
    );
    expect(
      await value('holdfast_handler_duration_seconds', { le: '+Inf', type: 'boom', outcome: 'error' }),
    ).toBe(1);
    expect(await value('holdfast_request_duration_seconds', { le: '+Inf', type: 'add' })).toBe(1);
    expect(await value('holdfast_request_duration_seconds', { le: '+Inf', type: 'boom' })).toBe(1);
    // A type outside the protocol gets one label, whatever the client sends.
    expect(await value('holdfast_request_duration_seconds', { le: '+Inf', type: '(unknown)' })).toBe(1);

    // The client closes (counted); the server closes another (not counted).
    await c.close();
    await expect.poll(() => value('holdfast_client_disconnects_total', { code: '1000' })).toBe(1);
    const d = await connect();
    const wd = await d.hello();
    await server.disconnect(wd.sessionId);
    expect((await d.closedPromise()).code).toBe(4000);
    expect(await value('holdfast_client_disconnects_total')).toBe(1);
    expect(await value('holdfast_replay_duration_seconds', { le: '+Inf' })).toBe(2);

    // Detached: nothing more is observed.
    metrics.detach();
    const e = await connect();
    await e.hello({ resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] } });
    expect(await value('holdfast_replay_duration_seconds', { le: '+Inf' })).toBe(2);
  });

  it('admin: lists a user, disconnects a session, logs a user out, closes idle connections; guarded', async () => {
    const { server, url, connect } = await startServer({
      authenticate: ({ token }) => ({ user: token ?? 'x' }),
    });
    const admin = adminHandler(server, { authorize: (req) => req.headers.authorization === 'Bearer admin' });
    const http = createHttpServer(admin);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    defer(async () => http.close());
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/admin`;
    const call = (method: string, path: string, auth = 'Bearer admin') =>
      fetch(base + path, { method, headers: { authorization: auth } }).then(
        async (r) => [r.status, await r.json()] as const,
      );

    const a1 = await connect();
    const wa1 = await a1.hello({ token: 'amy' });
    const a2 = await connect();
    await a2.hello({ token: 'amy' });
    const z = await connect();
    const wz = await z.hello({ token: 'zed' });

    expect((await call('GET', '/users/amy', 'Bearer nope'))[0]).toBe(403);
    const [status, body] = await call('GET', '/users/amy');
    expect(status).toBe(200);
    expect(body.connections).toHaveLength(2);
    expect(body.sessions).toHaveLength(2);
    expect(body.connections[0]).toMatchObject({ user: 'amy', remoteAddress: '127.0.0.1', reconnects: 0 });
    expect(typeof body.connections[0].connectedAt).toBe('number');

    expect(await call('POST', `/sessions/${wz.sessionId}/disconnect`)).toEqual([200, { ok: true }]);
    expect((await z.closedPromise()).code).toBe(4000);
    // An ended session cannot be resumed.
    const z2 = await RawClient.open(url);
    defer(async () => z2.ws.terminate());
    expect(
      (
        await z2.hello({
          token: 'zed',
          resume: { sessionId: wz.sessionId, resumeToken: wz.resumeToken, cursors: [] },
        })
      ).resumeError,
    ).toBe('expired');

    expect(await call('POST', '/users/amy/logout')).toEqual([200, { ended: 2 }]);
    expect((await a1.closedPromise()).code).toBe(4000);
    expect((await a2.closedPromise()).code).toBe(4000);
    expect(await server.userSessions('amy')).toEqual([]);
    expect(wa1.sessionId).toBeTruthy();

    expect(await call('POST', '/idle?minutes=0')).toEqual([200, { closed: 1 }]);
    expect((await z2.closedPromise()).code).toBe(1001);
    expect((await call('POST', '/idle?minutes=abc'))[0]).toBe(400);
    expect((await call('GET', '/nothing'))[0]).toBe(404);
  });

  it('close() drains: running handlers finish and answer, then 1012; new work is not taken', async () => {
    const { server, url, connect } = await startServer();
    let finish!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const runs: number[] = [];
    server.handle('note', async ({ n }) => {
      runs.push(n);
      started();
      await new Promise<void>((r) => {
        finish = r;
      });
      return n;
    });
    const c = await connect();
    await c.hello();
    c.send({ t: 'pub', id: '1', type: 'note', data: { n: 1 } });
    await running;
    const closing = server.close();
    // A message arriving during the drain is not taken (the client resends it elsewhere).
    c.send({ t: 'pub', id: '2', type: 'note', data: { n: 2 } });
    c.send({ t: 'ping', ts: 7 });
    await c.next((f) => f.t === 'pong' && f.ts === 7);
    expect(c.closed).toBeUndefined();
    finish();
    // The running handler's answer arrives before the close.
    expect(await c.next((f) => f.t === 'res')).toMatchObject({ id: '1', ok: true, result: 1 });
    expect((await c.closedPromise()).code).toBe(1012);
    await closing;
    expect(runs).toEqual([1]);
    expect(c.frames.filter((f) => f.t === 'res').map((f) => f.id)).toEqual(['1']);
    const late = new RawClient(url);
    expect((await late.closedPromise()).code).toBe(1006);
  });
});
