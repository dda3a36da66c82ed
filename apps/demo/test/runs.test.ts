import type { HoldfastClient } from '@holdfast/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Demo_ } from '../src/server/app.js';
import { answerTokens } from '../src/shared/answer.js';
import type { ChatLine, Demo, Run } from '../src/shared/protocol.js';
import { demoServer, user } from './support.js';

// Runs and chat on the SDK's appends and rewind (issue 19): the real demo server on loopback,
// real `@holdfast/client`s over real WebSockets.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function started(options: Parameters<typeof demoServer>[0] = {}): Promise<Demo_> {
  const app = await demoServer({ loginLimit: { burst: 10_000 }, ...options });
  cleanups.push(() => app.close());
  return app;
}
async function signedIn(app: Demo_, name: string): Promise<HoldfastClient<Demo>> {
  const c = await user(app, name);
  cleanups.push(() => c.close());
  return c;
}

/** Every value of run `runId` a client is handed, and a promise of the last (done) one. */
function runValues(client: HoldfastClient<Demo>, runId: () => string | undefined) {
  const seen: { run: Run; done: boolean; delta: unknown }[] = [];
  let resolve: (run: Run) => void = () => undefined;
  const done = new Promise<Run>((r) => (resolve = r));
  const waiters: { test: (run: Run) => boolean; resolve: () => void }[] = [];
  client.on('run', (run, meta) => {
    if (run.runId !== runId()) return;
    seen.push({ run, done: meta.done, delta: meta.delta });
    for (const w of waiters.splice(0))
      if (w.test(run)) w.resolve();
      else waiters.push(w);
    if (meta.done) resolve(run);
  });
  const until = (test: (run: Run) => boolean) =>
    new Promise<void>((r) => {
      const last = seen.at(-1);
      if (last && test(last.run)) r();
      else waiters.push({ test, resolve: r });
    });
  return { seen, done, until };
}

describe('an agent run grows by appends in a room of its own', () => {
  it('the starter and a device joining mid-answer both end with the exact run, each token once', async () => {
    const app = await started();
    const alice = await signedIn(app, 'alice');
    const bob = await signedIn(app, 'bob');
    let runId: string | undefined;
    const mine = runValues(alice, () => runId);
    const theirs = runValues(bob, () => runId);
    const task = 'Summarise the week';
    ({ runId } = await alice.request('startRun', { steps: 5, intervalMs: 5, tokens: 600, task }));
    expect(runId).toMatch(/^run-[0-9a-f]{8}$/);
    expect(alice.joinedRooms()).toContain(runId);
    // Bob joins once alice has half the answer (past the first compactions, every ~4 KiB of
    // appends): he gets it folded so far, then the rest live.
    await mine.until((run) => run.answer.length > 1500);
    await bob.join(runId, { rewind: { count: 1 } });
    const [a, b] = await Promise.all([mine.done, theirs.done]);
    const answer = answerTokens(task, 600).join('');
    for (const run of [a, b]) {
      expect(run.answer).toBe(answer);
      expect(run.steps.map((s) => s.index)).toEqual([1, 2, 3, 4, 5]);
      expect(run.plan).toEqual(['understand the task', 'gather facts', 'debate', 'answer']);
      expect(run.totalCostUsd).toBeGreaterThan(0);
      expect(run.stopped).toBeUndefined();
    }
    // Bob got the run as it stood (its snapshot, then the appends not folded into it), not every
    // delta from the start: fewer deliveries than alice.
    expect(theirs.seen[0]!.delta).toBeUndefined();
    expect(theirs.seen[0]!.run.answer.length).toBeGreaterThan(0);
    expect(theirs.seen.length).toBeLessThan(mine.seen.length - 100);
    // The room keeps the run as one entry, its value the whole run.
    const history = await app.server.history({ room: runId! });
    expect(history.messages).toHaveLength(1);
    expect(history.messages[0]).toMatchObject({ type: 'run', open: false, data: a });
  }, 30_000);

  it('a run whose session ends is stopped: its message ends, marked stopped', async () => {
    const app = await started();
    const ed = await signedIn(app, 'ed');
    const watcher = await signedIn(app, 'fred');
    let runId: string | undefined;
    const watched = runValues(watcher, () => runId);
    ({ runId } = await ed.request('startRun', { steps: 2000, intervalMs: 20, task: 't' }));
    await watcher.join(runId, { rewind: { count: 1 } });
    await watched.until((run) => run.steps.length >= 2);
    const state = ed.state;
    if (state.status !== 'connected') throw new Error('not connected');
    await app.server.disconnect(state.sessionId, { end: true });
    const last = await watched.done;
    expect(last.stopped).toBe(true);
    expect(last.steps.length).toBeLessThan(2000);
  });
});

describe('chat lines come from the room itself (rewind), not a store of the demo', () => {
  it('a join with rewind shows the last lines, at most maxRewind, in order', async () => {
    const app = await started({ maxRewind: 5 });
    const carl = await signedIn(app, 'carl');
    await carl.join('talk');
    for (let i = 1; i <= 8; i++) await carl.send('say', { room: 'talk', text: `line ${i}`, nonce: `n${i}` });
    const dana = await signedIn(app, 'dana');
    const got: ChatLine[] = [];
    dana.on('said', (line) => got.push(line));
    await dana.join('talk', { rewind: { count: 50 } });
    await carl.send('say', { room: 'talk', text: 'live', nonce: 'n9' });
    await expect.poll(() => got.length).toBe(6);
    expect(got.map((l) => l.text)).toEqual(['line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'live']);
    // Without rewind, a join starts at the room's head.
    const eve = await signedIn(app, 'eve');
    const none: ChatLine[] = [];
    eve.on('said', (line) => none.push(line));
    await eve.join('talk');
    await carl.send('say', { room: 'talk', text: 'after eve', nonce: 'n10' });
    await expect.poll(() => none.map((l) => l.text)).toEqual(['after eve']);
  });
});
