/**
 * The viewers process of the appends scenario: many {@link Viewer}s of one answer, on raw `ws`
 * clients, driven over IPC by the orchestrator: connect the first viewers, let late ones join,
 * drop and resume some, and check every viewer's final text against the answer sent.
 */
import { serveRpc } from '../ipc.js';
import { answerText, prefixLengths, type StreamMode } from './answer.js';
import { Viewer } from './viewer.js';

let viewers: Viewer[] = [];
let late: Viewer[] = [];
let resumed: Viewer[] = [];
let answer = '';
let prefix: Int32Array = new Int32Array(0);
let url = '';
let mode: StreamMode = 'appends';

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

/** Run `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

serveRpc({
  /** The answer to expect, and the first viewers, connected and joined. */
  async connect(p: { url: string; mode: StreamMode; tokens: number; n: number }) {
    url = p.url;
    mode = p.mode;
    answer = answerText(p.tokens);
    prefix = prefixLengths(p.tokens);
    viewers = Array.from({ length: p.n }, () => new Viewer(url, mode, answer.length));
    late = [];
    resumed = [];
    const t0 = performance.now();
    await pool(viewers, 64, (v) => v.connect(false));
    return { ms: performance.now() - t0 };
  },

  /**
   * `n` viewers join now, while the answer streams, asking for the room's past (rewind); `sent`:
   * tokens the server had sent when asked (each must catch up to at least that).
   */
  async late(p: { n: number; sent: number }) {
    const added = Array.from({ length: p.n }, () => new Viewer(url, mode, answer.length));
    late.push(...added);
    viewers.push(...added);
    await pool(added, 64, async (v) => {
      v.catchUp = { sentAt: performance.now(), bytesAt: 0, target: prefix[p.sent]! };
      await v.connect(true);
    });
    return null;
  },

  /** Drop `n` of the first viewers' sockets now (returns at once). */
  drop(p: { n: number }) {
    const chosen = viewers.filter((v) => !late.includes(v) && !v.done).slice(0, p.n);
    for (const v of chosen) v.drop();
    resumed.push(...chosen);
    return chosen.length;
  },

  /** The dropped viewers resume (hello.resume with their cursors); `sent` as in `late`. */
  async resume(p: { sent: number }) {
    await pool(resumed, 64, async (v) => {
      v.catchUp = { sentAt: performance.now(), bytesAt: v.bytes, target: prefix[p.sent]! };
      await v.resume();
    });
    return null;
  },

  /** How many viewers hold the whole answer, and the deliveries so far. */
  status() {
    let done = 0;
    let applied = 0;
    for (const v of viewers) {
      if (v.done) done += 1;
      applied += v.applied;
    }
    const stuck = viewers
      .filter((v) => !v.done)
      .slice(0, 3)
      .map((v) => ({
        group: late.includes(v) ? 'late' : resumed.includes(v) ? 'resumed' : 'first',
        length: v.text.length,
        ...v.debug(),
      }));
    return { done, total: viewers.length, applied, stuck, cpuUs: cpuUs() };
  },

  /** Every viewer's final text against the answer sent, and the catch-up figures. */
  results() {
    const wrong: { index: number; length: number; firstDiff: number }[] = [];
    let longer = 0;
    for (const [index, v] of viewers.entries()) {
      if (v.text === answer) continue;
      let i = 0;
      while (i < v.text.length && v.text[i] === answer[i]) i++;
      if (v.text.length > answer.length) longer += 1;
      wrong.push({ index, length: v.text.length, firstDiff: i });
    }
    const sum = (f: (v: Viewer) => number) => viewers.reduce((a, v) => a + f(v), 0);
    const figures = (list: Viewer[]) => ({
      ms: list.map((v) => v.catchUp?.ms ?? Number.NaN),
      bytes: list.map((v) => v.catchUp?.bytes ?? Number.NaN),
    });
    const closes = viewers.filter((v) => v.unexpectedClose !== undefined && !resumed.includes(v));
    return {
      viewers: viewers.length,
      answerBytes: Buffer.byteLength(answer),
      wrong: wrong.slice(0, 10),
      wrongCount: wrong.length,
      longer,
      applied: sum((v) => v.applied),
      dropped: sum((v) => v.dropped),
      bytes: sum((v) => v.bytes),
      gaps: sum((v) => v.gaps),
      errors: sum((v) => v.errors),
      resumes: sum((v) => v.resumes),
      failedResumes: sum((v) => v.failedResumes),
      unexpectedCloses: closes.length,
      closeCodes: [...new Set(closes.map((v) => v.unexpectedClose))],
      late: figures(late),
      resumed: figures(resumed),
    };
  },

  close() {
    for (const v of viewers) v.close();
    return null;
  },
});
