import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/index.js';

const record = (id: string, resumeTokenHash: string) => ({
  id,
  user: 'ann',
  resumeTokenHash,
  createdAt: 0,
  rooms: [],
  acked: {},
  starts: {},
  data: undefined,
});

describe('the memory engine’s sessions', () => {
  it('give back the resume-token hash they were given, a hex digest or any other string', async () => {
    const engine = new MemoryEngine();
    const digest = createHash('sha256').update('token').digest('hex');
    const others = ['', 'not-a-digest', digest.toUpperCase(), `${digest}0`, digest.slice(1)];
    await engine.createSession(record('s0', digest), 0);
    for (const [i, hash] of others.entries()) await engine.createSession(record(`s${i + 1}`, hash), 0);
    expect((await engine.getSession('s0'))!.resumeTokenHash).toBe(digest);
    for (const [i, hash] of others.entries())
      expect((await engine.getSession(`s${i + 1}`))!.resumeTokenHash).toBe(hash);
    expect((await engine.deleteSession('s0'))!.resumeTokenHash).toBe(digest);
  });
});
