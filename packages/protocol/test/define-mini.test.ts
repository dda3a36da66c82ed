// This file imports zod/mini only (vitest runs each test file in its own module graph), so no
// classic zod has installed its English locale: English messages below are ENGLISH_MESSAGES'
// doing, and without them the messages are zod/mini's defaults.
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { decode, defineProtocol, ENGLISH_MESSAGES, HoldfastError } from '../src/index.js';

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

  it("reports issues in zod's English with ENGLISH_MESSAGES, as with classic zod", () => {
    const bad = app.parseInbound('say', { room: 'a', text: 'too long' }, ENGLISH_MESSAGES);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toBeInstanceOf(HoldfastError);
      expect(bad.error.code).toBe('VALIDATION_FAILED');
      expect(bad.error.issues).toEqual([
        { path: ['text'], message: 'Too big: expected string to have <=5 characters' },
      ]);
    }
  });

  it("keeps zod/mini's default messages without them (no locale loaded, none set globally)", () => {
    // After the English parse above: nothing global was set by it.
    const bad = app.parseInbound('say', { room: 'a', text: 'too long' });
    expect(bad.ok ? [] : bad.error.issues).toEqual([{ path: ['text'], message: 'Invalid input' }]);
    const r = decode(`{"t":"pub","id":"${'x'.repeat(65)}","type":"x"}`, 'client');
    expect(r.ok ? '' : `${r.error.code}: ${r.error.message}`).toBe(
      'STRING_TOO_LONG: Invalid "pub" frame at id: Invalid input',
    );
  });

  it("keeps the wire's frame error messages without classic zod", () => {
    const r = decode(`{"t":"pub","id":"${'x'.repeat(65)}","type":"x"}`, 'client', {
      parse: ENGLISH_MESSAGES,
    });
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
      const bad = app.parseInbound('say', { room: 1, text: 'hi' }, ENGLISH_MESSAGES);
      expect(bad.ok ? [] : bad.error.issues).toEqual([{ path: ['room'], message: 'custom' }]);
      const local = app.parseInbound('say', { room: 1, text: 'hi' });
      expect(local.ok ? [] : local.error.issues).toEqual([{ path: ['room'], message: 'custom' }]);
    } finally {
      z.config({ customError: undefined });
    }
  });
});
