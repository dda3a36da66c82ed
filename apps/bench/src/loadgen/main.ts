/**
 * The load generator process: many raw `ws` clients speaking one target's wire protocol,
 * counting every delivery.
 */
import { serveRpc } from '../ipc.js';
import { BROADCAST, makeEcho, nowMs } from '../payload.js';
import { Samples } from '../stats.js';
import type { LoadConnect } from '../types.js';
import type { BenchConn, ConnHooks } from './conn.js';
import { HoldfastConn } from './holdfast-conn.js';
import { SocketIoConn } from './socketio-conn.js';
import { type Receiver, Tracker } from './tracker.js';
import { WsConn } from './ws-conn.js';

const tracker = new Tracker();
let conns: BenchConn[] = [];
const unexpected: { code: number; reason: string }[] = [];
let echoReply: ((conn: BenchConn, seq: number) => void) | undefined;

const hooks: ConnHooks = {
  tracker,
  onEchoReply: (conn, seq) => echoReply?.(conn, seq),
  onUnexpectedClose: (_conn, code, reason) => {
    if (unexpected.length < 1000) unexpected.push({ code, reason });
  },
};

/** Experiments: `BENCH_HOLDFAST_ACK=every,delayMs` changes the Holdfast clients' ack policy. */
function ackFromEnv(): { every: number; delayMs: number } | undefined {
  const v = process.env.BENCH_HOLDFAST_ACK?.split(',').map(Number);
  return v && v.length === 2 && v.every(Number.isFinite) ? { every: v[0]!, delayMs: v[1]! } : undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Failed connection attempts (retried) and a sample of why. */
const failedAttempts = { count: 0, samples: [] as string[] };

/** Open with retries (a server busy with a storm may refuse or drop a handshake). */
async function openWithRetry(conn: BenchConn, resume: boolean, deadline: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await conn.open(resume);
      return;
    } catch (err) {
      failedAttempts.count += 1;
      if (failedAttempts.samples.length < 5) failedAttempts.samples.push((err as Error).message);
      if (nowMs() > deadline) throw new Error(`connection ${conn.index} failed: ${(err as Error).message}`);
      await sleep(Math.min(1000, 50 * 2 ** attempt) * Math.random());
    }
  }
}

// Holdfast clients ack 1 s after the first unacked message at the latest.
setInterval(() => {
  const now = nowMs();
  for (const c of conns) {
    if (c instanceof HoldfastConn && c.unacked > 0 && now - c.firstUnackedAt >= c.ack.delayMs) c.flushAcks();
  }
}, 50).unref();

const emit = serveRpc({
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  async connect(p: LoadConnect) {
    const t0 = nowMs();
    conns = [];
    unexpected.length = 0;
    for (let i = 0; i < p.n; i++) {
      const room = p.rooms > 0 ? `r${i % p.rooms}` : undefined;
      const url = p.urls[i % p.urls.length]!;
      const channel = room ?? BROADCAST;
      conns.push(
        p.wire === 'ws'
          ? new WsConn(i, url, channel, room, hooks)
          : p.wire === 'socketio'
            ? new SocketIoConn(i, url, channel, room, hooks, p.recovery ?? false)
            : new HoldfastConn(i, url, channel, room, hooks),
      );
      const last = conns[conns.length - 1];
      const ack = p.ack ?? ackFromEnv();
      if (ack && last instanceof HoldfastConn) last.ack = ack;
    }
    const deadline = nowMs() + 60_000;
    await pool(conns, p.concurrency ?? 200, (c) => openWithRetry(c, false, deadline));
    return { ms: nowMs() - t0 };
  },

  /** Start counting deliveries; with `progress`, report the fully delivered prefix of the broadcast channel. */
  track(p: { progress?: boolean }) {
    const members = new Map<string, number>();
    for (const c of conns) members.set(c.channel, (members.get(c.channel) ?? 0) + 1);
    tracker.setChannels(members);
    let scheduled = false;
    tracker.onComplete = p.progress
      ? (channel) => {
          if (channel !== BROADCAST || scheduled) return;
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            emit('progress', { completedThrough: tracker.completedThrough(BROADCAST) });
          });
        }
      : undefined;
  },
  latencyStart() {
    tracker.latency.reset();
    tracker.recordLatency = true;
  },
  latencyStop() {
    tracker.recordLatency = false;
    return tracker.latency.summary();
  },
  duplicates: () => tracker.duplicates,
  check(p: { from: Record<string, number>; to: Record<string, number>; duplicatesBefore?: number }) {
    return tracker.check(p.from, p.to, p.duplicatesBefore ?? 0);
  },

  /** Wait until every connection received the last message of its channel (or the timeout). */
  async waitReceived(p: { lastIds: Record<string, number>; timeoutMs: number }) {
    const deadline = nowMs() + p.timeoutMs;
    for (;;) {
      const behind = conns.filter((c) => c.lastId < (p.lastIds[c.channel] ?? 0)).length;
      if (behind === 0 || nowMs() > deadline) return { behind };
      await sleep(10);
    }
  },

  /**
   * Closed-loop request/response: every connection keeps one echo request in flight for
   * `durationMs`. Returns round trips completed in that time, and checks every request got
   * exactly one response.
   */
  async echo(p: { durationMs: number; connections?: number }) {
    const active = conns.slice(0, p.connections ?? conns.length);
    let stop = false;
    let completed = 0;
    let duplicates = 0;
    let sent = 0;
    const send = (c: BenchConn) => {
      const seq = c.nextSeq++;
      c.outstanding = seq;
      sent += 1;
      c.sendEcho(seq, makeEcho(seq));
    };
    let drained: (() => void) | undefined;
    let inflight = 0;
    echoReply = (c, seq) => {
      if (c.outstanding !== seq) {
        duplicates += 1;
        return;
      }
      c.outstanding = -1;
      completed += 1;
      if (!stop) send(c);
      else if (--inflight === 0) drained?.();
    };
    const t0 = nowMs();
    for (const c of active) send(c);
    await sleep(p.durationMs);
    stop = true;
    const wallMs = nowMs() - t0;
    const roundTrips = completed;
    inflight = active.filter((c) => c.outstanding !== -1).length;
    if (inflight > 0) await Promise.race([new Promise<void>((r) => (drained = r)), sleep(10_000)]);
    const lost = active.filter((c) => c.outstanding !== -1).length;
    echoReply = undefined;
    return { roundTrips, wallMs, sent, received: completed, lost, duplicates };
  },

  /** One connection, one request at a time: the latency of a round trip (ms). */
  async echoLatency(p: { durationMs: number }) {
    const c = conns[0]!;
    const samples = new Samples();
    const end = nowMs() + p.durationMs;
    let lost = 0;
    while (nowMs() < end) {
      const seq = c.nextSeq++;
      const t = nowMs();
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000);
        echoReply = (_c, s) => {
          if (s !== seq) return;
          clearTimeout(timer);
          resolve(true);
        };
        c.outstanding = seq;
        c.sendEcho(seq, makeEcho(seq));
      });
      c.outstanding = -1;
      if (!ok) lost += 1;
      else samples.push(nowMs() - t);
    }
    echoReply = undefined;
    return { ...samples.summary(), lost };
  },

  /**
   * The reconnect storm: cut every socket at once, reconnect each after a uniform random delay
   * in [0, jitterMs) and resume. Resolves when every client is known to hold every message sent
   * before its new connection was ready (see {@link Receiver.caughtUpAt}).
   */
  async storm(p: { jitterMs: number; timeoutMs: number }) {
    let caught = 0;
    let allCaught: (() => void) | undefined;
    tracker.onCaughtUp = () => {
      if (++caught === conns.length) allCaught?.();
    };
    const cutStart = nowMs();
    for (const c of conns) {
      c.readyAt = 0;
      c.replayedAt = 0;
      c.caughtUpAt = 0;
      c.cut();
    }
    // Tearing 5,000 sockets down takes the client a while: time starts when the cut is done.
    const cutAt = nowMs();
    const deadline = cutAt + p.timeoutMs;
    const attemptAt = new Float64Array(conns.length);
    const reconnects = conns.map(async (c, i) => {
      await sleep(Math.random() * p.jitterMs);
      attemptAt[i] = nowMs();
      await openWithRetry(c, true, deadline);
    });
    const caughtUp = new Promise<void>((r) => {
      allCaught = r;
      if (caught === conns.length) r();
    });
    const errors: string[] = [];
    await Promise.all(reconnects.map((r) => r.catch((e: Error) => errors.push(e.message))));
    await Promise.race([caughtUp, sleep(Math.max(0, deadline - nowMs()))]);
    tracker.onCaughtUp = undefined;
    const readyTimes = conns.map((c) => c.readyAt - cutAt).sort((a, b) => a - b);
    const times = conns.map((c) => (c.caughtUpAt ? c.caughtUpAt - cutAt : Number.POSITIVE_INFINITY));
    const ready = conns.map((c) => (c.readyAt ? c.readyAt - cutAt : Number.POSITIVE_INFINITY));
    times.sort((a, b) => a - b);
    // Per client: from its first reconnect attempt to caught up (the server's resume latency under the storm).
    const perClient = conns
      .map((c, i) => (c.caughtUpAt ? c.caughtUpAt - attemptAt[i]! : Number.POSITIVE_INFINITY))
      .sort((a, b) => a - b);
    return {
      cutMs: cutAt - cutStart,
      clientP50Ms: perClient[perClient.length >> 1],
      clientP99Ms: perClient[Math.min(perClient.length - 1, Math.floor(perClient.length * 0.99))],
      caughtUp: caught,
      catchUpMs: times[times.length - 1],
      catchUpP50Ms: times[times.length >> 1],
      reconnectMs: Math.max(...ready),
      readyDeciles: [0.1, 0.25, 0.5, 0.75, 0.9, 0.99].map((q) =>
        Math.round(readyTimes[Math.floor(q * readyTimes.length)]!),
      ),
      errors: errors.slice(0, 5),
      recovered: conns.reduce(
        (n, c) => n + (c instanceof HoldfastConn ? c.resumed : c instanceof SocketIoConn ? c.recovered : 0),
        0,
      ),
    };
  },

  /** Protocol-level figures and unexpected closes. */
  stats() {
    let droppedDuplicates = 0;
    let gaps = 0;
    let errorFrames = 0;
    for (const c of conns) {
      if (c instanceof HoldfastConn) {
        droppedDuplicates += c.droppedDuplicates;
        gaps += c.gaps;
        errorFrames += c.errors;
      }
    }
    return {
      unexpectedCloses: unexpected.length,
      closeCodes: unexpected.slice(0, 5),
      droppedDuplicates,
      gaps,
      errorFrames,
      failedAttempts: failedAttempts.count,
      failedSamples: failedAttempts.samples,
    };
  },

  async closeAll() {
    await pool(conns, 500, (c) => c.close());
    conns = [];
  },
});
