// The appends contract suite (test/appends-suite.ts) on the memory engine of @holdfast/server:
// both built-in engines pass the same tests (the cross-node ones need a shared store: Redis only).
import { MemoryEngine } from '@holdfast/server';
import { Cleanups } from '@holdfast/testkit';
import { afterEach, describe } from 'vitest';
import { appendsSuite } from './appends-suite.js';
import { Recorder } from './support/recorder.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('MemoryEngine', () => {
  appendsSuite({
    nodes: false,
    node: async (options = {}) => {
      const engine = new MemoryEngine(options);
      const rec = new Recorder();
      cleanups.defer(() => engine.close());
      await engine.start(rec.listeners);
      return { engine, rec };
    },
  });
});
