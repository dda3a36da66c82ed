import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { app, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { createServer } from '../src/index.js';
import { defer, startServer } from './support/fixture.js';

describe('API misuse fails loudly', () => {
  it('url() in attached mode gives a reachable host for an unspecified listening address', async () => {
    for (const [bind, host] of [
      ['::', 'localhost'],
      ['0.0.0.0', '127.0.0.1'],
    ] as const) {
      const http = createHttpServer();
      const hf = createServer({ protocol: app, server: http });
      defer(async () => {
        await hf.close();
        http.close();
      });
      expect(() => hf.url()).toThrow('not listening on a port yet');
      http.listen(0, bind);
      await once(http, 'listening');
      expect(hf.address().host).toBe(bind);
      const url = hf.url();
      expect(url).toMatch(new RegExp(`^ws://${host.replace(/\./g, '\\.')}:\\d+/ws$`));
      // The URL works.
      const c = await RawClient.open(url);
      defer(async () => c.ws.terminate());
      expect((await c.hello()).t).toBe('welcome');
    }
  });

  it('a join refused only because no authorizeJoin is configured says so', async () => {
    const { connect } = await startServer();
    const c = await connect();
    await c.hello();
    c.send({ t: 'join', id: 'j', room: 'lobby' });
    const res = await c.next((f) => f.t === 'res' && f.id === 'j');
    expect(res.error.code).toBe('FORBIDDEN');
    expect(res.error.message).toContain('authorizeJoin');

    const { connect: connect2 } = await startServer({ authorizeJoin: () => false });
    const d = await connect2();
    await d.hello();
    d.send({ t: 'join', id: 'j', room: 'lobby' });
    const denied = await d.next((f) => f.t === 'res' && f.id === 'j');
    expect(denied.error).toEqual({ code: 'FORBIDDEN', message: 'Not allowed to join this room' });
  });

  it('validates every send, even one that reaches nobody', async () => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    const bad = { n: 'one' } as unknown as { n: number };
    await expect(server.sendToSession('s_unknown', 'tick', bad)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(
      server.sendToSession(w.sessionId, 'tick', bad, { except: { sessions: [w.sessionId] } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(
      server.sendToUser(w.user, 'tick', bad, { except: { users: [w.user] } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(server.sendToRoom([], 'tick', bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // Valid sends to nobody still resolve with 0.
    expect(await server.sendToSession('s_unknown', 'tick', { n: 1 })).toBe(0);
    expect(await server.sendToRoom([], 'tick', { n: 1 })).toBe(0);
  });
});
