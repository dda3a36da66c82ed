import { describe, expect, it } from 'vitest';
import { clientOf } from './support/app.js';
import { startFakeServer } from './support/fake-server.js';

// The client checks the fields an app passes into its frames with the wire's plain rules
// (protocol own-frames.ts), with the error codes the exact schemas give.

describe('app-supplied frame fields', () => {
  it('rejects a room name the wire refuses, with the schema code, and sends nothing', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const conn = await server.nextConnection();
    await expect(client.join('')).rejects.toMatchObject({ name: 'ProtocolError', code: 'STRING_TOO_SHORT' });
    await expect(client.join('r'.repeat(129))).rejects.toMatchObject({ code: 'STRING_TOO_LONG' });
    await expect(client.join('a\u0000b')).rejects.toMatchObject({
      code: 'INVALID_FORMAT',
      issues: [{ path: ['room'] }],
    });
    await expect(client.leave('\ud800')).rejects.toMatchObject({ code: 'INVALID_FORMAT' });
    expect(client.joinedRooms()).toEqual([]);
    // The first join the server sees is the valid one: none of the refused ones was sent.
    void client.join('lobby').catch(() => {});
    expect(await conn.next('join')).toMatchObject({ t: 'join', room: 'lobby' });
    client.close();
  });
});
