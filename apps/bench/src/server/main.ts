/**
 * The server process: runs one target and publishes on the orchestrator's command. Its own
 * `process.cpuUsage()` deltas are the server CPU figures.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import type { RedisEngine } from '@holdfast/redis';
import { serveRpc } from '../ipc.js';
import { BROADCAST, makeTick, nowMs, type Tick } from '../payload.js';
import type { ServerStart } from '../types.js';
import { createHoldfastTarget } from './holdfast-target.js';
import { createSocketIoTarget } from './socketio-target.js';
import type { ServerTarget } from './target.js';
import { createUwsTarget } from './uws-target.js';
import { createWsTarget } from './ws-target.js';

let target: ServerTarget | undefined;
/** The Redis engine of a multi-node run. */
let redisEngine: RedisEngine | undefined;
const seq = new Map<string, number>();

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * CPU ticks (1/100 s) of this process's main thread and of all its threads (GC helpers, libuv's
 * pool, the profiler...), from /proc; zeros where there is no /proc.
 */
function threadTicks(): { main: number; all: number } {
  const ticks = (path: string) => {
    const s = readFileSync(path, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  try {
    let all = 0;
    for (const tid of readdirSync('/proc/self/task')) all += ticks(`/proc/self/task/${tid}/stat`);
    return { main: ticks(`/proc/self/task/${process.pid}/stat`), all };
  } catch {
    return { main: 0, all: 0 };
  }
}

/** Milliseconds of garbage-collection pauses of this process's main thread so far. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

function need(): ServerTarget {
  if (!target) throw new Error('server not started');
  return target;
}

/** Publish the next tick of a channel (`*` = broadcast, else a room) with send time `ts`. */
function publish(ch: string, ts: number): unknown {
  const id = (seq.get(ch) ?? 0) + 1;
  seq.set(ch, id);
  const tick: Tick = makeTick(ch, id, ts);
  return ch === BROADCAST ? need().broadcast(tick) : need().toRoom(ch, tick);
}

async function createTarget(p: ServerStart): Promise<ServerTarget> {
  switch (p.target) {
    case 'ws':
      return createWsTarget('naive');
    case 'ws-frame':
      return createWsTarget('frame');
    case 'ws-cork':
      return createWsTarget('cork');
    case 'uws':
      return createUwsTarget();
    case 'socketio':
      return createSocketIoTarget(p.recovery ?? false);
    case 'holdfast':
    case 'holdfast-plain':
    case 'holdfast-redis':
    case 'holdfast-cluster': {
      if (!p.engine) return createHoldfastTarget();
      redisEngine = await createRedisEngineFor(p.engine);
      return createHoldfastTarget(redisEngine);
    }
  }
}

/** Redis engine errors logged (each is also counted in `engine.status()`); the rest are only counted. */
const ENGINE_ERRORS_LOGGED = 5;

/**
 * Multi-node: a Redis engine with the run's key prefix (the same on every node of the run).
 * Imported on demand so the other targets' processes never load `@holdfast/redis`. The engine
 * puts an 'error' listener on both of its Redis connections; `createServer` starts and closes it.
 */
async function createRedisEngineFor(e: NonNullable<ServerStart['engine']>) {
  const { createRedisEngine } = await import('@holdfast/redis');
  const engine = createRedisEngine({ url: e.url, prefix: e.prefix });
  let errors = 0;
  engine.on('error', (err, ctx) => {
    errors += 1;
    if (errors <= ENGINE_ERRORS_LOGGED) console.error(`redis engine error (${ctx.where}): ${err.message}`);
  });
  return engine;
}

// ---------------------------------------------------------------- profiling

/** `BENCH_PROFILE_DIR=dir`: write a CPU profile of each closed loop (flood/echo) phase there. */
const profileDir = process.env.BENCH_PROFILE_DIR;
let profiler: Session | undefined;

async function profileStart(): Promise<void> {
  if (!profileDir) return;
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

async function profileStop(name: string): Promise<void> {
  const s = profiler;
  profiler = undefined;
  if (!s || !profileDir) return;
  const { profile } = await s.post('Profiler.stop');
  writeFileSync(join(profileDir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
  s.disconnect();
}

// ---------------------------------------------------------------- flood (closed loop)

interface Flood {
  window: number;
  completed: number;
  last: number;
  stopAt: number;
  stopped: boolean;
  pumping: boolean;
  done: (r: {
    first: number;
    last: number;
    wallMs: number;
    cpuUs: number;
    sysUs: number;
    gcMs: number;
    mainThreadShare: number;
  }) => void;
  fail: (e: Error) => void;
  first: number;
  t0: number;
  cpu0: number;
  /** Publish the window without awaiting each message (see `flood`); `inflight`: not yet acked. */
  pipeline: boolean;
  inflight: number;
  sys0: number;
  gc0: number;
  threads0: { main: number; all: number };
}

/** The main thread's share of the process's CPU between two {@link threadTicks} readings. */
function mainShare(a: { main: number; all: number }, b: { main: number; all: number }): number {
  return b.all > a.all ? (b.main - a.main) / (b.all - a.all) : 1;
}
let flood: Flood | undefined;

async function pump(): Promise<void> {
  const f = flood;
  if (!f || f.pumping) return;
  f.pumping = true;
  try {
    while (!f.stopped && f.last - f.completed < f.window) {
      f.last += 1;
      const sent = publish(BROADCAST, nowMs());
      if (f.pipeline) {
        f.inflight += 1;
        Promise.resolve(sent).then(
          () => {
            f.inflight -= 1;
            pump();
          },
          (err: Error) => f.fail(err),
        );
      } else await sent;
      if (nowMs() >= f.stopAt) f.stopped = true;
    }
  } catch (err) {
    f.fail(err as Error);
    return;
  } finally {
    f.pumping = false;
  }
  if (f.stopped && f.completed >= f.last && f.inflight === 0 && flood === f) {
    flood = undefined;
    f.done({
      first: f.first,
      last: f.last,
      wallMs: nowMs() - f.t0,
      cpuUs: cpuNow() - f.cpu0,
      sysUs: process.cpuUsage().system - f.sys0,
      gcMs: gcMs - f.gc0,
      mainThreadShare: mainShare(f.threads0, threadTicks()),
    });
  }
}

// ---------------------------------------------------------------- paced (open loop)

interface Paced {
  stop: boolean;
  published: Map<string, number>;
}
let paced: Paced | undefined;

/**
 * Publish `rate` messages/s round-robin over `channels` until stopped; ts = the scheduled time.
 * `pipeline`: publish what is due without awaiting each message before the next (see `flood`).
 */
function startPaced(channels: string[], rate: number, durationMs: number, pipeline = false): Promise<void> {
  const p: Paced = { stop: false, published: new Map() };
  const inflight: Promise<unknown>[] = [];
  paced = p;
  const t0 = nowMs();
  const interval = 1000 / rate;
  let n = 0;
  return new Promise<void>((resolve, reject) => {
    const loop = async () => {
      try {
        const now = nowMs();
        const due = Math.floor((Math.min(now, t0 + durationMs) - t0) / interval) + 1;
        while (n < due && !p.stop) {
          const ch = channels[n % channels.length]!;
          const sent = publish(ch, Math.round((t0 + n * interval) * 1000) / 1000);
          if (pipeline) inflight.push(Promise.resolve(sent));
          else await sent;
          p.published.set(ch, seq.get(ch)!);
          n += 1;
        }
        if (inflight.length > 0) await Promise.all(inflight.splice(0));
        if (p.stop || now >= t0 + durationMs) {
          resolve();
          return;
        }
        setTimeout(loop, Math.max(0, Math.min(1, t0 + n * interval - nowMs())));
      } catch (err) {
        reject(err as Error);
      }
    };
    loop();
  });
}

// ---------------------------------------------------------------- rss watch

let rssTimer: NodeJS.Timeout | undefined;
let rssPeak = 0;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run the server with --expose-gc');
  g();
}

serveRpc({
  async start(p: ServerStart) {
    target = await createTarget(p);
    return { url: target.url };
  },
  cpu: () => cpuNow(),
  /** The Redis engine's health figures (errors, reconnects), or null on the in-memory engine. */
  engineStatus: () => redisEngine?.status() ?? null,
  connections: () => need().connections(),
  lastIds: () => Object.fromEntries(seq),
  async memory() {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers };
  },

  /**
   * Closed loop: broadcast as fast as the window allows (at most `window` messages not yet
   * delivered to every client) for `durationMs`, then wait until all are delivered. `pipeline`:
   * publish without awaiting each message before the next (as concurrent app handlers would;
   * the messages are still published in order), so an engine with a round trip per append
   * (Redis) has the whole window in flight, as the in-memory engine does within one tick.
   * `BENCH_FLOOD_SERIAL=1` in the server's environment turns it off (to measure the difference).
   */
  async flood(p: {
    window: number;
    durationMs: number;
    timeoutMs: number;
    profile?: string;
    pipeline?: boolean;
  }) {
    if (flood) throw new Error('flood already running');
    await profileStart();
    const result = await new Promise((resolve, reject) => {
      const start = seq.get(BROADCAST) ?? 0;
      const timer = setTimeout(() => {
        flood = undefined;
        reject(
          new Error(`flood stalled: ${f.completed - start}/${f.last - start} messages delivered to all`),
        );
      }, p.timeoutMs);
      const f: Flood = {
        window: p.window,
        completed: start,
        last: start,
        first: start + 1,
        stopAt: nowMs() + p.durationMs,
        stopped: false,
        pumping: false,
        t0: nowMs(),
        cpu0: cpuNow(),
        pipeline: (p.pipeline ?? false) && process.env.BENCH_FLOOD_SERIAL !== '1',
        inflight: 0,
        sys0: process.cpuUsage().system,
        gc0: gcMs,
        threads0: threadTicks(),
        done: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        fail: (e) => {
          clearTimeout(timer);
          flood = undefined;
          reject(e);
        },
      };
      flood = f;
      pump();
    });
    await profileStop(p.profile ?? 'flood');
    return result;
  },
  profileStart,
  /** With BENCH_PROFILE_DIR: write a heap snapshot there (after a GC). */
  heapSnapshot(p: { name: string }) {
    if (!profileDir) return null;
    gc();
    return writeHeapSnapshot(join(profileDir, `${p.name}-${process.pid}.heapsnapshot`));
  },
  profileStop: (p: { name: string }) => profileStop(p.name),
  /** Delivery progress from the load generator (relayed by the orchestrator). */
  progress(p: { completedThrough: number }) {
    if (!flood) return;
    flood.completed = Math.max(flood.completed, p.completedThrough);
    pump();
  },

  /** Open loop at `rate` messages/s over `channels` for `durationMs`; resolves when done publishing. */
  async paced(p: { channels: string[]; rate: number; durationMs: number; pipeline?: boolean }) {
    const cpu0 = cpuNow();
    const t0 = nowMs();
    const pipeline = (p.pipeline ?? false) && process.env.BENCH_FLOOD_SERIAL !== '1';
    await startPaced(p.channels, p.rate, p.durationMs, pipeline);
    paced = undefined;
    return { lastIds: Object.fromEntries(seq), cpuUs: cpuNow() - cpu0, wallMs: nowMs() - t0 };
  },
  /** Start publishing in the background (the storm); `pacedStop` ends it. */
  pacedStart(p: { channels: string[]; rate: number }) {
    startPaced(p.channels, p.rate, 3_600_000).catch((err) => console.error('paced publish failed', err));
  },
  pacedStop() {
    if (paced) paced.stop = true;
    paced = undefined;
    return { lastIds: Object.fromEntries(seq) };
  },

  rssWatchStart() {
    rssPeak = process.memoryUsage.rss();
    rssTimer = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 20);
  },
  rssWatchStop() {
    clearInterval(rssTimer);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    return { peakRss: rssPeak };
  },

  async shutdown() {
    await target?.close();
    target = undefined;
  },
});
