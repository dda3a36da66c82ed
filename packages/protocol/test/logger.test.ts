import { describe, expect, it, vi } from 'vitest';
import { consoleLogger, debugFromEnv } from '../src/index.js';

describe('debug switch and console logger', () => {
  it('reads HOLDFAST_DEBUG and DEBUG the way the debug package does', () => {
    const on = (env: Record<string, string>, ns = 'holdfast:server') => debugFromEnv(ns, env);
    expect(on({})).toBe(false);
    expect(on({ HOLDFAST_DEBUG: '1' })).toBe(true);
    expect(on({ HOLDFAST_DEBUG: '0' })).toBe(false);
    expect(on({ HOLDFAST_DEBUG: 'false' })).toBe(false);
    expect(on({ DEBUG: 'holdfast*' })).toBe(true);
    expect(on({ DEBUG: 'holdfast' })).toBe(true);
    expect(on({ DEBUG: 'express:*, holdfast:server' })).toBe(true);
    expect(on({ DEBUG: 'holdfast:client' })).toBe(false);
    expect(on({ DEBUG: 'holdfast:client' }, 'holdfast:client')).toBe(true);
    expect(on({ DEBUG: '*' })).toBe(true);
    expect(on({ DEBUG: '*,-holdfast:server' })).toBe(false);
    expect(on({ DEBUG: 'express:*' })).toBe(false);
    expect(on({ DEBUG: 'odd(name,[x' })).toBe(false); // any text, never a thrown RegExp error
    expect(debugFromEnv('holdfast:server', undefined)).toBe(false);
  });

  it('prints every level to the console with the namespace, fields after the message', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    try {
      consoleLogger('holdfast:server').info({ sessionId: 's_1' }, 'session created');
      expect(info).toHaveBeenCalledWith('holdfast:server info: session created', { sessionId: 's_1' });
    } finally {
      info.mockRestore();
    }
  });
});
