import { fileURLToPath } from 'node:url';
import type { StreamMode } from '../appends/answer.js';
import type { BenchConfig } from '../config.js';
import { ChildRpc } from '../ipc.js';
import { median } from '../stats.js';
import type { TargetName } from '../types.js';
import { LOADGEN_CORE, type RunOutcome, type Scenario, SERVER_CORE, sleep } from './scenario.js';

const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** What the viewers process's `results` returns. */
interface ViewerResults {
  viewers: number;
  answerBytes: number;
  wrong: { index: number; length: number; firstDiff: number }[];
  wrongCount: number;
  longer: number;
  applied: number;
  dropped: number;
  bytes: number;
  gaps: number;
  errors: number;
  resumes: number;
  failedResumes: number;
  unexpectedCloses: number;
  closeCodes: number[];
  late: { ms: number[]; bytes: number[] };
  resumed: { ms: number[]; bytes: number[] };
}

/** Resolve once the server has sent at least `tokens` tokens. */
async function sentAtLeast(server: ChildRpc, tokens: number): Promise<number> {
  for (;;) {
    const sent = await server.call<number>('progress');
    if (sent >= tokens) return sent;
    await sleep(10);
  }
}

/**
 * Scenario 6 (issue 19): one AI answer streamed token by token to a room of viewers, as one
 * message that grows by appends (`holdfast`) or as one plain message per token (`holdfast-plain`).
 * Some viewers join late, some drop their socket mid-answer and resume; every viewer's final text
 * must equal the text sent, character for character (the run fails otherwise).
 */
export function appendsScenario(cfg: BenchConfig): Scenario {
  const a = cfg.appends;
  const count = (n: number) => n.toLocaleString('en-US');
  return {
    id: 'appends',
    title: `Streamed answer, ${count(a.tokens)} tokens at ${count(a.rate)}/s to ${count(a.viewers)} viewers`,
    description:
      `One Holdfast node streams an answer of ${count(a.tokens)} tokens (2–9 characters each) at ` +
      `${count(a.rate)} tokens/s (open loop) to one room of ${count(a.viewers)} viewers: ` +
      `${count(a.viewers - a.late)} joined before it starts, ${count(a.late)} join at half-way, and ` +
      `${count(a.reconnect)} of the first drop their socket at a quarter and resume ${a.downMs} ms later. ` +
      'Appends: `startMessage` + `append` per token + `end` (one retained entry, compacted to a snapshot ' +
      'of the text); a late joiner joins with `rewind: { count: 1 }` and gets the answer folded so far ' +
      '(its snapshot and pending appends), then the rest live. Plain messages: `sendToRoom` per token ' +
      '(one retained entry per token; retention raised to hold them all); a late joiner asks for every ' +
      "retained token with `rewind: { ageMs }` (without it, it would start at the room's head and never " +
      'hold the answer). Deliveries/s: frames applied by all viewers over the time from the first token ' +
      "to the last viewer holding the whole text. Server CPU per token per viewer: the server process's " +
      'CPU over that time. Catch-up: bytes received and time from opening the socket until a late joiner ' +
      'holds every token the server had sent when it was asked to join (medians over the late joiners; ' +
      'the same for the resumes). The viewers follow PROTOCOL.md §10.3 by hand on raw `ws` clients, ' +
      'acking after 50 frames or 1 s; every final text is compared with the text sent.',
    targets: ['holdfast', 'holdfast-plain'],
    limit: 'holdfast-plain',
    peer: 'holdfast-plain',
    labels: { holdfast: 'Holdfast, appends', 'holdfast-plain': 'Holdfast, plain messages' },
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher', digits: 0 },
      {
        key: 'cpuUsPerTokenViewer',
        label: 'server CPU per token per viewer',
        unit: 'µs',
        better: 'lower',
        digits: 3,
      },
      { key: 'catchupBytes', label: 'late joiner catch-up bytes', unit: 'B', better: 'lower', digits: 0 },
      { key: 'catchupMs', label: 'late joiner catch-up time', unit: 'ms', better: 'lower', digits: 1 },
      { key: 'resumeBytes', label: 'resume catch-up bytes', unit: 'B', better: 'lower', digits: 0 },
      { key: 'resumeMs', label: 'resume catch-up time', unit: 'ms', better: 'lower', digits: 1 },
      { key: 'streamSec', label: 'first token to last viewer done', unit: 's', better: 'lower', digits: 2 },
    ],
    goals: [
      {
        text: 'late joiner catch-up bytes <= 0.5x plain messages',
        metric: 'catchupBytes',
        versus: 'holdfast-plain',
        factor: 0.5,
        op: 'atMost',
      },
      {
        text: 'server CPU per token per viewer vs plain messages (ratio only)',
        metric: 'cpuUsPerTokenViewer',
        versus: 'holdfast-plain',
        factor: 1,
        op: 'report',
      },
      {
        text: 'late joiner catch-up time vs plain messages (ratio only)',
        metric: 'catchupMs',
        versus: 'holdfast-plain',
        factor: 1,
        op: 'report',
      },
    ],
    async run(target: TargetName, c: BenchConfig): Promise<RunOutcome> {
      const p = c.appends;
      const mode: StreamMode = target === 'holdfast-plain' ? 'plain' : 'appends';
      let server: ChildRpc | undefined;
      let viewers: ChildRpc | undefined;
      try {
        server = await ChildRpc.spawn(dist('appends/server.js'), {
          name: `server(${target})`,
          core: SERVER_CORE,
        });
        viewers = await ChildRpc.spawn(dist('appends/viewers.js'), { name: 'viewers', core: LOADGEN_CORE });
        const { url } = await server.call<{ url: string }>('start', { tokens: p.tokens });
        const { ms: connectMs } = await viewers.call<{ ms: number }>('connect', {
          url,
          mode,
          tokens: p.tokens,
          n: p.viewers - p.late,
        });
        const streamMs = (p.tokens / p.rate) * 1000;
        const timeoutMs = streamMs * 4 + (c.mode === 'smoke' ? 20_000 : 120_000);
        const cpu0 = await server.call<number>('cpu');
        const t0 = performance.now();
        await server.call('stream', { mode, tokens: p.tokens, rate: p.rate });
        await sentAtLeast(server, Math.floor(p.tokens / 4));
        const dropped = await viewers.call<number>('drop', { n: p.reconnect });
        await sleep(p.downMs);
        await viewers.call('resume', { sent: await server.call<number>('progress') }, timeoutMs);
        await sentAtLeast(server, Math.floor(p.tokens / 2));
        await viewers.call('late', { n: p.late, sent: await server.call<number>('progress') }, timeoutMs);
        const { wallMs: sendMs } = await server.call<{ wallMs: number }>('finished', {}, timeoutMs);
        for (const deadline = Date.now() + timeoutMs; ; ) {
          const s = await viewers.call<{ done: number; total: number; stuck: unknown[] }>('status');
          if (s.done === s.total) break;
          if (Date.now() > deadline)
            throw new Error(
              `${s.total - s.done} viewers never held the whole answer: ${JSON.stringify(s.stuck)}`,
            );
          await sleep(20);
        }
        const wallMs = performance.now() - t0;
        const cpuUs = (await server.call<number>('cpu')) - cpu0;
        const r = await viewers.call<ViewerResults>('results');
        const finite = (xs: number[]) => xs.filter(Number.isFinite);
        const wrong = r.wrongCount;
        return {
          metrics: {
            deliveriesPerSec: (r.applied / wallMs) * 1000,
            cpuUsPerTokenViewer: cpuUs / (p.tokens * r.viewers),
            catchupBytes: median(finite(r.late.bytes)),
            catchupMs: median(finite(r.late.ms)),
            resumeBytes: median(finite(r.resumed.bytes)),
            resumeMs: median(finite(r.resumed.ms)),
            streamSec: wallMs / 1000,
            connectMs,
          },
          delivery: {
            messages: p.tokens,
            deliveries: r.applied,
            // A viewer whose text is not the answer: longer holds a token twice, else misses one.
            lost: wrong - r.longer,
            duplicates: r.longer,
          },
          lossless: true,
          notes: {
            mode,
            viewers: r.viewers,
            answerBytes: r.answerBytes,
            sendMs: Math.round(sendMs),
            serverBusy: cpuUs / 1000 / wallMs,
            bytesPerViewer: Math.round(r.bytes / r.viewers),
            framesDropped: r.dropped,
            dropped,
            resumes: r.resumes,
            failedResumes: r.failedResumes,
            gaps: r.gaps,
            errors: r.errors,
            unexpectedCloses: r.unexpectedCloses,
            closeCodes: r.closeCodes,
            ...(wrong ? { wrong: r.wrong } : {}),
          },
        };
      } finally {
        await viewers?.call('close').catch(() => undefined);
        await server?.call('stop').catch(() => undefined);
        await server?.stop();
        await viewers?.stop();
      }
    },
  };
}
