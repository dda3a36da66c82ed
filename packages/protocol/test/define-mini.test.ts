// This file imports zod/mini only (vitest runs each test file in its own module graph), so no
// classic zod has installed its English locale: the messages below are the protocol's doing.
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { decode, defineProtocol, HoldfastError } from '../src/index.js';

const app = defineProtocol({
  client: { say: z.object({ room: z.string(), text: z.string().check(z.maxLength(5)) }) },
  server: { said: z.object({ text: z.string() }) },
  requests: {
    history: { request: z.object({ room: z.string() }), response: z.array(z.string()) },
  },
});

describe('defineProtocol with zod/mini schemas', () => {
  it('validates messages, requests and responses', () => {
    expect(app.parseInbound('say', { room: 'a', text: 'hi' })).toEqual({
      ok: true,
      value: { room: 'a', text: 'hi' },
    });
    expect(app.parseInbound('history', { room: 'a' })).toEqual({ ok: true, value: { room: 'a' } });
    expect(app.parseServer('said', { text: 1 }).ok).toBe(false);
    expect(app.parseResponse('history', ['a']).ok).toBe(true);
    expect(app.parseResponse('history', [1]).ok).toBe(false);
  });

  it("reports issues in zod's English, as with classic zod", () => {
    const bad = app.parseInbound('say', { room: 'a', text: 'too long' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toBeInstanceOf(HoldfastError);
      expect(bad.error.code).toBe('VALIDATION_FAILED');
      expect(bad.error.issues).toEqual([
        { path: ['text'], message: 'Too big: expected string to have <=5 characters' },
      ]);
    }
  });

  it("keeps the wire's frame error messages without classic zod", () => {
    const r = decode(`{"t":"pub","id":"${'x'.repeat(65)}","type":"x"}`, 'client');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('STRING_TOO_LONG');
      expect(r.error.message).toBe(
        'Invalid "pub" frame at id: Too big: expected string to have <=64 characters',
      );
    }
  });

  it("lets the app's own zod config win", () => {
    z.config({ customError: () => 'custom' });
    try {
      const bad = app.parseInbound('say', { room: 1, text: 'hi' });
      expect(bad.ok ? [] : bad.error.issues).toEqual([{ path: ['room'], message: 'custom' }]);
    } finally {
      z.config({ customError: undefined });
    }
  });
});
