/**
 * The answer the scenario streams, shared by the server process (which sends it) and the viewers
 * process (which checks every viewer's final text against it): deterministic tokens of 2–9
 * characters, like a language model's.
 */
import { defineProtocol } from '@holdfast/protocol';
import * as z from 'zod/mini';

const WORDS = [
  'the',
  'answer',
  'is',
  'that',
  'retention',
  'keeps',
  'one',
  'entry',
  'per',
  'message',
  'and',
  'a',
  'snapshot',
  'of',
  'its',
  'text',
  'so',
  'late',
  'viewers',
  'catch',
  'up',
  'fast',
  'while',
  'live',
  'tokens',
  'keep',
  'flowing',
  'in',
  'order',
  'exactly',
  'once',
  'to',
  'every',
  'tab',
];

/** Token `i` (0-based) of the answer. */
export function tokenAt(i: number): string {
  return `${WORDS[(i * 13 + (i >> 5)) % WORDS.length]}${i % 17 === 16 ? '.' : ''} `;
}

/** The whole answer of `n` tokens. */
export function answerText(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += tokenAt(i);
  return s;
}

/** `out[k]`: the length of the first `k` tokens. */
export function prefixLengths(n: number): Int32Array {
  const out = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) out[i + 1] = out[i]! + tokenAt(i).length;
  return out;
}

/**
 * The scenario's app protocol: `answer` grows by appends (text, concatenated); `token` is the
 * same stream sent the old way, one plain message per token.
 */
export const answerProtocol = defineProtocol({
  server: { answer: z.string(), token: z.string() },
  appends: { answer: { delta: z.string() } },
});

/** How the answer is sent: as one growing message, or one plain message per token. */
export type StreamMode = 'appends' | 'plain';

/** The room every viewer is in. */
export const ROOM = 'answer';
