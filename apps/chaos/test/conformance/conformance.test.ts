import { describe, expect, it } from 'vitest';
import { runStream } from './harness.js';
import { streamScenarios, wireScenarios } from './scenarios.js';
import { runWire } from './wire.js';

// The conformance table of docs/PROTOCOL.md §9, against a real server over real sockets: every
// stream scenario with the spec-literal reference client and with @holdfast/client.

describe('conformance: stream scenarios', () => {
  for (const s of streamScenarios) {
    for (const kind of s.clients ?? (['spec', 'official'] as const)) {
      it(`[${kind}] §${s.section} ${s.name}`, async () => {
        const { problems } = await runStream(s, kind);
        expect(problems).toEqual([]);
      });
    }
  }
});

describe('conformance: wire scenarios', () => {
  for (const s of wireScenarios) {
    it(`§${s.section} ${s.name}`, async () => {
      expect(await runWire(s)).toEqual([]);
    });
  }
});
