import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkProtocol, defineProtocol, HoldfastError } from '../src/index.js';

const app = defineProtocol({
  client: { say: z.object({ room: z.string(), text: z.string().max(5) }) },
  server: { said: z.object({ text: z.string() }) },
  requests: { history: { request: z.object({ room: z.string() }), response: z.array(z.string()) } },
});

describe('defineProtocol', () => {
  it('validates inbound messages and requests', () => {
    expect(app.parseInbound('say', { room: 'a', text: 'hi' })).toEqual({
      ok: true,
      value: { room: 'a', text: 'hi' },
    });
    expect(app.parseInbound('history', { room: 'a' })).toEqual({ ok: true, value: { room: 'a' } });
    const bad = app.parseInbound('say', { room: 'a', text: 'too long' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toBeInstanceOf(HoldfastError);
      expect(bad.error.code).toBe('VALIDATION_FAILED');
      expect(bad.error.issues).toEqual([{ path: ['text'], message: expect.stringContaining('5') }]);
    }
  });

  it('rejects unknown types, including prototype names', () => {
    for (const type of ['nope', '__proto__', 'toString', 'constructor', 'said']) {
      const r = app.parseInbound(type, {});
      expect(r.ok ? 'ok' : r.error.code).toBe('UNKNOWN_MESSAGE_TYPE');
    }
  });

  it('validates server messages and responses', () => {
    expect(app.parseServer('said', { text: 'x' }).ok).toBe(true);
    expect(app.parseServer('said', { text: 1 }).ok).toBe(false);
    expect(app.parseResponse('history', ['a']).ok).toBe(true);
    expect(app.parseResponse('history', [1]).ok).toBe(false);
    expect(app.isRequest('history')).toBe(true);
    expect(app.isClientMessage('history')).toBe(false);
    expect(app.isClientMessage('say')).toBe(true);
  });

  it('checkProtocol refuses reserved, malformed and colliding names', () => {
    expect(() => checkProtocol(defineProtocol({ client: { $x: z.null() } }))).toThrow(/reserved/);
    expect(() => checkProtocol(defineProtocol({ server: { 'a b': z.null() } }))).toThrow(/visible ASCII/);
    expect(() =>
      checkProtocol(
        defineProtocol({
          client: { a: z.null() },
          requests: { a: { request: z.null(), response: z.null() } },
        }),
      ),
    ).toThrow(/both/);
    expect(() => checkProtocol(app)).not.toThrow();
  });
});
