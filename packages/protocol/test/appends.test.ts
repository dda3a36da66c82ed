import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { checkProtocol, decode, defineProtocol, encodeAppBody, encodeAppFrame } from '../src/index.js';

const Run = z.object({ steps: z.array(z.string()) });
type Run = z.output<typeof Run>;

describe('defineProtocol appends', () => {
  const p = defineProtocol({
    server: { answer: z.string(), run: Run, plain: z.number() },
    appends: {
      answer: { delta: z.string() },
      run: { delta: z.string(), fold: (run: Run, step: string): Run => ({ steps: [...run.steps, step] }) },
    },
  });

  it('says which server types grow by appends', () => {
    expect(p.isAppendable('answer')).toBe(true);
    expect(p.isAppendable('run')).toBe(true);
    expect(p.isAppendable('plain')).toBe(false);
    expect(p.isAppendable('toString')).toBe(false);
  });

  it('folds text by concatenation and structured data by the declared fold', () => {
    expect(p.fold('answer', 'Hel', 'lo')).toBe('Hello');
    expect(p.fold('run', { steps: ['a'] }, 'b')).toEqual({ steps: ['a', 'b'] });
  });

  it('validates deltas with their schema', () => {
    expect(p.parseDelta('answer', 'x')).toEqual({ ok: true, value: 'x' });
    const bad = p.parseDelta('answer', 5);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('VALIDATION_FAILED');
    const unknown = p.parseDelta('plain', 1);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.code).toBe('UNKNOWN_MESSAGE_TYPE');
  });

  it('checkProtocol refuses appends of unknown types and non-string types without a fold', () => {
    expect(() =>
      checkProtocol(
        defineProtocol({ server: { a: z.string() }, appends: { b: { delta: z.string() } } as never }),
      ),
    ).toThrow(TypeError);
    expect(() =>
      checkProtocol(defineProtocol({ server: { run: Run }, appends: { run: { delta: z.string() } } })),
    ).toThrow(/needs a fold/);
    expect(() =>
      checkProtocol(defineProtocol({ server: { run: z.string() }, appends: { run: { delta: z.string() } } })),
    ).not.toThrow();
  });
});

describe('app frames from parts', () => {
  it('build exactly what the schema decodes', () => {
    const text = encodeAppFrame('room:a', 'e1', 7, encodeAppBody(5, ' world', false));
    expect(decode(text, 'server')).toEqual({
      ok: true,
      frame: { t: 'app', stream: 'room:a', epoch: 'e1', offset: 7, start: 5, data: ' world' },
    });
    const end = encodeAppFrame('room:a', 'e1', 8, encodeAppBody(5, undefined, true));
    expect(decode(end, 'server')).toEqual({
      ok: true,
      frame: { t: 'app', stream: 'room:a', epoch: 'e1', offset: 8, start: 5, end: true },
    });
  });
});
