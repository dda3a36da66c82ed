import { inspect } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../src/index.js';
import { clientOf } from './support/app.js';
import { startFakeServer } from './support/fake-server.js';

const TOKEN = 'tok-client-91d2c4';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('client logs', () => {
  it("calls the logger in pino's order with the state changes, never with the token or payloads", async () => {
    const entries: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
      entries.push({ level, fields, message });
    };
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    await using server = await startFakeServer({ answer: () => ({ result: 'ok' }) });
    const client = clientOf(server, { logger, token: () => TOKEN, debug: false });
    await client.connect();
    await client.send('say', { text: 'payload-secret-77' });
    const states = entries.filter((e) => e.message === 'holdfast: state');
    expect(states.map((e) => [e.level, e.fields.from, e.fields.to])).toEqual([
      ['debug', 'idle', 'connecting'],
      ['debug', 'connecting', 'connected'],
    ]);
    expect(states[1]?.fields.state).toMatchObject({ status: 'connected', sessionId: expect.any(String) });
    const everything = inspect(entries, { depth: 20 });
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain('payload-secret-77');
  });

  it('`debug: true` without a logger logs to the console; so does HOLDFAST_DEBUG in Node', async () => {
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    await using server = await startFakeServer();
    const client = clientOf(server, { debug: true });
    await client.connect();
    // `console` itself is the logger: pino's order, fields first.
    expect(debug).toHaveBeenCalledWith(
      expect.objectContaining({ from: 'idle', to: 'connecting' }),
      'holdfast: state',
    );
    client.close();

    debug.mockClear();
    const quiet = clientOf(server);
    await quiet.connect();
    expect(debug).not.toHaveBeenCalled();
    quiet.close();

    vi.stubEnv('HOLDFAST_DEBUG', '1');
    const fromEnv = clientOf(server);
    await fromEnv.connect();
    expect(debug).toHaveBeenCalledWith(expect.objectContaining({ to: 'connected' }), 'holdfast: state');
    fromEnv.close();
  });
});
