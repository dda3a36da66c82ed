import { inspect } from 'node:util';
import { ManualClock } from '@holdfast/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../src/index.js';
import { startServer } from './support/fixture.js';

type Level = keyof Logger;
interface Entry {
  level: Level;
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps what it is given (pino's argument order), to read back in the test. */
function recorder(): { logger: Logger; entries: Entry[]; find: (level: Level, message: string) => Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: Level) =>
    (fields: Record<string, unknown>, message: string): void => {
      entries.push({ level, fields, message });
    };
  return {
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
    entries,
    find: (level, message) => entries.filter((e) => e.level === level && e.message === message),
  };
}

const TOKEN = 'tok-ada-7f3c9b1e';
const BAD_TOKEN = 'tok-nobody-52aa81';
const PAYLOAD = 'payload-text-0e4d';
const authenticate = ({ token }: { token: string | undefined }) => (token === TOKEN ? { user: 'ada' } : null);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('server logs', () => {
  it('logs the connection lifecycle at debug, sessions and refusals at info, handler failures at warn/error: never tokens or payloads', async () => {
    const log = recorder();
    const { server, connect } = await startServer({
      logger: log.logger,
      authenticate,
      origins: ['https://app.example'],
      limits: { connectionsPerUser: 1 },
    });
    server.handle('boom', () => {
      throw new Error('handler crashed');
    });
    server.handle('say', () => undefined);

    const c = await connect();
    const w = await c.hello({ token: TOKEN });
    const { sessionId } = w;
    expect(log.find('debug', 'connection opened')[0]?.fields).toMatchObject({
      connectionId: expect.any(String),
    });
    expect(log.find('info', 'session created')).toEqual([
      {
        level: 'info',
        fields: { sessionId, user: 'ada', connectionId: expect.any(String) },
        message: 'session created',
      },
    ]);

    const ask = async (id: string, type: string, data: unknown) => {
      c.send({ t: 'pub', id, type, data });
      return c.next((f) => f.t === 'res' && f.id === id);
    };
    await ask('m1', 'say', { room: 'r', text: PAYLOAD });
    expect((await ask('m2', 'boom', { kind: 'plain', text: PAYLOAD })).error.code).toBe('HANDLER_ERROR');
    const [failed] = log.find('error', 'holdfast error');
    expect(failed?.fields).toMatchObject({ where: 'handler', type: 'boom', sessionId, user: 'ada' });
    expect(failed?.fields.err).toMatchObject({ message: 'handler crashed' });
    expect((await ask('m3', 'note', { n: 1 })).error.code).toBe('NO_HANDLER');
    expect(log.find('warn', 'no handler for this message type')[0]?.fields).toEqual({
      type: 'note',
      sessionId,
      user: 'ada',
      messageId: 'm3',
    });

    // The client leaves, and comes back: a resume.
    await c.close();
    await expect.poll(() => log.find('debug', 'connection closed').length).toBe(1);
    expect(log.find('debug', 'connection closed')[0]?.fields).toMatchObject({
      sessionId,
      user: 'ada',
      code: 1000,
    });
    const back = await connect();
    await back.hello({ token: TOKEN, resume: { sessionId, resumeToken: w.resumeToken, cursors: [] } });
    expect(log.find('info', 'session resumed')[0]?.fields).toMatchObject({ sessionId, user: 'ada' });

    // Refusals: a limit (ada is connected already), authentication, origin.
    const second = await connect();
    second.send({ t: 'hello', version: 1, token: TOKEN });
    expect((await second.closedPromise()).code).toBe(4409);
    const refused = await connect();
    refused.send({ t: 'hello', version: 1, token: BAD_TOKEN });
    expect((await refused.closedPromise()).code).toBe(4401);
    const stranger = await connect({ headers: { origin: 'https://evil.example' } });
    expect((await stranger.closedPromise()).code).toBe(4403);
    const refusals = log.find('info', 'connection refused').map((e) => e.fields);
    expect(refusals).toEqual([
      expect.objectContaining({ code: 4409, user: 'ada', detail: 'at most 1 connections per user' }),
      expect.objectContaining({ code: 4401, detail: 'authentication failed' }),
      expect.objectContaining({ code: 4403, detail: 'origin not allowed' }),
    ]);

    // Every level was used, and nothing secret reached the logger.
    expect(new Set(log.entries.map((e) => e.level))).toEqual(new Set(['debug', 'info', 'warn', 'error']));
    const everything = inspect(log.entries, { depth: 20 });
    for (const secret of [TOKEN, BAD_TOKEN, PAYLOAD, w.resumeToken]) expect(everything).not.toContain(secret);
  });

  it('logs a session expiring at info', async () => {
    const log = recorder();
    const clock = new ManualClock();
    const { connect } = await startServer({ clock, resumeWindowMs: 10_000, logger: log.logger });
    const c = await connect();
    const w = await c.hello();
    await c.close();
    await expect.poll(() => log.find('debug', 'connection closed').length).toBe(1);
    clock.advance(11_000);
    await expect
      .poll(() => log.find('info', 'session expired'))
      .toEqual([
        {
          level: 'info',
          fields: { sessionId: w.sessionId, user: w.user, ended: false },
          message: 'session expired',
        },
      ]);
  });

  it('without a logger, a failing handler still shows on console.error, unless an error listener is set', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { server, connect } = await startServer({ debug: false });
    server.handle('boom', () => {
      throw new Error('handler crashed');
    });
    const c = await connect();
    await c.hello();
    c.send({ t: 'pub', id: 'a', type: 'boom', data: { kind: 'plain' } });
    await c.next((f) => f.t === 'res' && f.id === 'a');
    expect(printed).toHaveBeenCalledTimes(1);
    expect(printed.mock.calls[0]).toEqual([
      'holdfast: handler failed',
      expect.objectContaining({ type: 'boom' }),
      expect.objectContaining({ message: 'handler crashed' }),
    ]);

    const heard: string[] = [];
    server.on('error', (err, context) => heard.push(`${context.where} ${context.type} ${err.message}`));
    c.send({ t: 'pub', id: 'b', type: 'boom', data: { kind: 'plain' } });
    await c.next((f) => f.t === 'res' && f.id === 'b');
    expect(heard).toEqual(['handler boom handler crashed']);
    expect(printed).toHaveBeenCalledTimes(1);
  });

  it('`debug: true` without a logger logs every level to the console', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const { server, connect } = await startServer({ debug: true });
    const c = await connect();
    const w = await c.hello();
    await c.close();
    await server.close();
    expect(debug).toHaveBeenCalledWith(
      'holdfast:server debug: connection opened',
      expect.objectContaining({ connectionId: expect.any(String) }),
    );
    expect(info).toHaveBeenCalledWith(
      'holdfast:server info: session created',
      expect.objectContaining({ sessionId: w.sessionId }),
    );
  });
});
