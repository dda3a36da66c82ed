import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo_ } from '../src/server/app.js';
import { demoServer, login, raw, send, user } from './support.js';

// The real demo server on loopback. An exception in a request listener or an unhandled
// rejection fails the vitest run by itself, so "still serves" is checked both ways.

let app: Demo_;
beforeAll(async () => {
  app = await demoServer({ loginLimit: { burst: 10_000 } });
});
afterAll(() => app.close());

const alive = async () => expect((await send(app.port, 'GET', '/healthz')).status).toBe(200);

describe('no request crashes the demo', () => {
  it('GET /%E0 (a path that does not decode) is a 400', async () => {
    expect((await send(app.port, 'GET', '/%E0')).status).toBe(400);
    await alive();
  });

  it('GET /api/rooms/%E0/history with a valid token is a 400', async () => {
    const token = JSON.parse((await login(app.port, 'mallory', 'mallory-browser-secret')).body).token;
    const r = await send(app.port, 'GET', '/api/rooms/%E0/history', undefined, {
      authorization: `Bearer ${token}`,
    });
    expect(r.status).toBe(400);
    await alive();
  });

  it('every route, every method, malformed paths and bodies: never a 5xx, still serving', async () => {
    const token = JSON.parse((await login(app.port, 'fuzzer', 'fuzzer-browser-secret')).body).token;
    const paths = [
      '/',
      '/index.html',
      '/api/login',
      '/api/stats',
      '/metrics',
      '/healthz',
      '/api/rooms/general/history',
      '/api/rooms/%E0/history',
      '/api/rooms/%/history',
      '/api/rooms/%ZZ/history',
      '/api/rooms/Random%20Room/history',
      '/api/rooms//history',
      '/api/nothing',
      '/%',
      '/%E0%A4%A',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%00',
      '/assets/../../package.json',
      `/${'a'.repeat(8000)}`,
      '/?%E0=%E0',
    ];
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
    const bodies: (string | Buffer | undefined)[] = [
      undefined,
      '{',
      'null',
      '[]',
      '"name"',
      '{"name":123,"secret":{}}',
      '{"name":"x","secret":"short"}',
      '{"name":"a\\u0000b","secret":"0123456789abcdef0123"}',
      Buffer.from([0xff, 0xfe, 0x00, 0xe0]),
      'x'.repeat(200_000),
    ];
    for (const path of paths)
      for (const method of methods)
        for (const body of method === 'GET' || method === 'HEAD'
          ? [undefined]
          : method === 'POST'
            ? bodies
            : bodies.slice(0, 2)) {
          const what = `${method} ${path.slice(0, 40)} ${String(body).slice(0, 20)}`;
          const r = await send(app.port, method, path, body, { authorization: `Bearer ${token}` }).catch(
            (err: Error) => ({ status: what + err.message }),
          );
          expect(r.status, what).toBeTypeOf('number');
          expect(r.status, what).toBeLessThan(500);
        }
    await alive();
  }, 30_000);

  it('random paths of percent-escapes and unicode: never a 5xx', async () => {
    const piece = fc.oneof(
      fc.constantFrom('%', '%E0', '%C3', '%ZZ', '%2F', '%00', '/', '..', 'api', 'rooms', 'history'),
      fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURI),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 8 }),
        fc.constantFrom('GET', 'POST'),
        async (parts, m) => {
          const r = await send(app.port, m, `/${parts.join('')}`, m === 'POST' ? '{' : undefined);
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    await alive();
  }, 30_000);

  it('malformed request lines get a 400 from the HTTP parser, and the process serves on', async () => {
    expect(await raw(app.port, 'GET /\x00 HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(app.port, 'NOT-HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(app.port, `GET / HTTP/1.1\r\nx: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 4/,
    );
    await alive();
  });

  it('a login body over the limit is refused with 413', async () => {
    const r = await send(app.port, 'POST', '/api/login', JSON.stringify({ name: 'x'.repeat(10_000) }));
    expect(r.status).toBe(413);
  });
});

describe('where it listens', () => {
  it('binds 127.0.0.1 unless told otherwise', async () => {
    const { startDemo } = await import('../src/server/app.js');
    const own = await startDemo({ port: 0 });
    try {
      expect(own.server.address().host).toBe('127.0.0.1');
    } finally {
      await own.close();
    }
  });
});

describe('history only for rooms one is in', () => {
  it('403 for a room the user is not in, the lines for one it is in', async () => {
    const ann = await user(app, 'ann');
    try {
      await ann.join('ann-room');
      await ann.send('say', { room: 'ann-room', text: 'hello', nonce: 'n1' });
      const token = JSON.parse((await login(app.port, 'ann', 'secret-of-ann-0123456789')).body).token;
      const auth = { authorization: `Bearer ${token}` };
      const mine = await send(app.port, 'GET', '/api/rooms/ann-room/history', undefined, auth);
      expect(mine.status).toBe(200);
      expect(JSON.parse(mine.body).map((l: { text: string }) => l.text)).toEqual(['hello']);
      const other = await send(app.port, 'GET', '/api/rooms/not-anns/history', undefined, auth);
      expect(other.status).toBe(403);
      expect((await send(app.port, 'GET', '/api/rooms/ann-room/history')).status).toBe(401);
    } finally {
      await ann.close();
    }
  });
});
