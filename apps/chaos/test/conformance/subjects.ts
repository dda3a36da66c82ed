import { appends, createClient, type HoldfastClient } from '@holdfast/client';
import { SpecClient, type StreamEvent } from '@holdfast/testkit';
import WebSocket from 'ws';
import { type App, app } from '../support/app.js';

/** What the harness needs of a client under test: the reference client or the official one. */
export interface Subject {
  readonly kind: 'spec' | 'official';
  /** Ledger events of a stream, in arrival order. */
  events(stream: string): StreamEvent[];
  /** Welcomes received so far (secrets left out). */
  readonly welcomes: {
    resumed: boolean;
    resumeError?: string;
    user?: string;
    sessionId: string;
    streams: any[];
  }[];
  /** Deliveries so far (all streams). */
  deliveredCount(): number;
  /** Call `fn` synchronously once `count` more messages were delivered. */
  afterDeliveries(count: number, fn: () => void): void;
  /** (Re)connect and resolve at the next welcome. */
  connect(): Promise<void>;
  /** The client's position of a stream (last delivered, or last told), if any. */
  position(stream: string): { epoch: string; offset: number } | undefined;
  pub(k: number): Promise<{ ok: boolean; local?: boolean }>;
  join(room: string): Promise<unknown>;
  leave(room: string): Promise<unknown>;
  setUser(user: string): void;
  /** Official client: log out (`close({ endSession: true })`); the next `connect()` starts a new session. */
  endSession(): Promise<void>;
  close(): Promise<void>;
  /** Spec client only. */
  readonly spec?: SpecClient;
  /**
   * Extension `appends`: every value a growing message took at this client, in order (per
   * applied start, snapshot or app, §10.3), with `start` its key and `done` after its end.
   */
  growth(stream: string): { start: number; value: unknown; done: boolean }[];
  /** Join with a rewind (§10.5). */
  joinRewind(room: string, rewind: { count?: number; ageMs?: number }): Promise<unknown>;
  /** Forget the state of open messages, as a reload from persistence does (§10.4). */
  reload(): void;
}

/** The spec-literal reference client, driven step by step. */
export function specSubject(url: string, user: string): Subject {
  const c = new SpecClient({ url, token: user });
  return {
    kind: 'spec',
    spec: c,
    events(stream) {
      return ledgerOfSpec(c, stream);
    },
    get welcomes() {
      return c.welcomes as any;
    },
    deliveredCount: () => c.deliveries.length,
    afterDeliveries(count, fn) {
      let left = count;
      c.onDelivery = () => {
        if (--left > 0) return;
        c.onDelivery = undefined;
        fn();
      };
    },
    async connect() {
      if (c.open) await c.closed();
      await c.connect();
    },
    position: (stream) => c.cursors.get(stream),
    pub: (k) => c.pub('note', { c: 'conf', k }),
    join: (room) => c.join(room),
    joinRewind: (room, rewind) => c.join(room, { rewind }),
    growth: (stream) => c.growth.filter((g) => g.stream === stream),
    reload: () => c.reload(),
    leave: (room) => c.leave(room),
    setUser(u) {
      c.token = u;
    },
    endSession: () => c.close(4000),
    close: () => (c.open ? c.close() : Promise.resolve()),
  };
}

/** Ledger events of the reference client, rebuilt from its frames in arrival order. */
function ledgerOfSpec(c: SpecClient, stream: string): StreamEvent[] {
  const out: StreamEvent[] = [];
  let d = 0;
  let g = 0;
  // Replay the frame log: deliveries and gaps are recorded in the same order as frames.
  const delivered = c.deliveries;
  const gaps = c.gaps;
  for (const f of c.frames) {
    if (f.t === 'welcome') {
      for (const s of f.streams) {
        if (s.status === 'gap') {
          const gap = gaps[g++]!;
          if (gap.stream === stream) out.push({ kind: 'gap', g: gap });
        } else if (s.stream === stream)
          out.push({ kind: 'told', c: { stream, epoch: s.epoch, offset: s.offset } });
      }
    } else if (f.t === 'gap') {
      const gap = gaps[g++]!;
      if (gap.stream === stream) out.push({ kind: 'gap', g: gap });
    } else if (f.t === 'sub' && f.op === 'join' && f.stream === stream) {
      out.push({ kind: 'told', c: { stream, epoch: f.epoch, offset: f.offset } });
    } else if (f.t === 'msg') {
      const next = delivered[d];
      if (next && next.stream === f.stream && next.epoch === f.epoch && next.offset === f.offset) {
        d += 1;
        if (next.stream === stream) out.push({ kind: 'delivered', d: next });
      }
    }
  }
  return out;
}

/** The official `@holdfast/client`, reconnecting by itself. */
export function officialSubject(url: string, user: string): Subject {
  let token = user;
  const client: HoldfastClient<App> = createClient<App>({
    url,
    protocol: app,
    WebSocket,
    environment: null,
    token: () => token,
    reconnect: { initialDelayMs: 20, minDelayMs: 10, maxDelayMs: 100 },
    // The chaos app declares appends (`answer`): the appends scenarios check its growth.
    plugins: [appends],
  });
  const log: (StreamEvent & { stream: string })[] = [];
  const welcomes: Subject['welcomes'] = [];
  const positions = new Map<string, { epoch: string; offset: number }>();
  let delivered = 0;
  let hook: (() => void) | undefined;
  let waiters: (() => void)[] = [];
  let expected = 0;
  client.events.on('welcome', (w) => {
    welcomes.push({ ...w, streams: w.streams });
    for (const s of w.streams) {
      positions.set(s.stream, { epoch: s.epoch, offset: s.offset });
      if (s.status === 'gap') {
        log.push({
          stream: s.stream,
          kind: 'gap',
          g: {
            stream: s.stream,
            epoch: s.epoch,
            offset: s.offset,
            reason: s.reason ?? 'unknown',
            source: 'welcome',
            ...(s.from !== undefined ? { from: s.from } : {}),
            ...(s.to !== undefined ? { to: s.to } : {}),
          },
        });
      } else
        log.push({
          stream: s.stream,
          kind: 'told',
          c: { stream: s.stream, epoch: s.epoch, offset: s.offset },
        });
    }
    for (const w2 of waiters.splice(0)) w2();
  });
  client.events.on('gap', (g) => {
    if (g.source !== 'frame') return;
    positions.set(g.stream, { epoch: g.epoch, offset: g.to ?? 0 });
    log.push({ stream: g.stream, kind: 'gap', g: { ...g, offset: g.to ?? 0 } });
  });
  const grown: { stream: string; start: number; value: unknown; done: boolean }[] = [];
  // The client API of extension `appends` (a folded value per applied frame, meta.start/done).
  client.on('answer', (value, meta) => {
    const m = meta as typeof meta & { start?: number; done?: boolean };
    if (m.stream === undefined || m.start === undefined) return;
    grown.push({ stream: m.stream, start: m.start, value, done: m.done === true });
  });
  client.on('tick', (data, meta) => {
    if (meta.stream === undefined || meta.epoch === undefined || meta.offset === undefined) return;
    delivered += 1;
    hook?.();
    positions.set(meta.stream, { epoch: meta.epoch, offset: meta.offset });
    log.push({
      stream: meta.stream,
      kind: 'delivered',
      d: { stream: meta.stream, epoch: meta.epoch, offset: meta.offset, type: 'tick', data },
    });
  });
  return {
    kind: 'official',
    events: (stream) => log.filter((e) => e.stream === stream),
    welcomes,
    deliveredCount: () => delivered,
    afterDeliveries(count, fn) {
      let left = count;
      hook = () => {
        if (--left > 0) return;
        hook = undefined;
        fn();
      };
    },
    async connect() {
      expected += 1;
      if (expected === 1 || client.state.status === 'closed') void client.connect().catch(() => {});
      while (welcomes.length < expected) await new Promise<void>((r) => waiters.push(r));
    },
    position: (stream) => positions.get(stream),
    async pub(k) {
      try {
        await client.send('note', { c: 'conf', k });
        return { ok: true };
      } catch (err) {
        return { ok: false, local: (err as { code?: string }).code !== undefined };
      }
    },
    async join(room) {
      const r = await client.join(room);
      if (!positions.has(r.stream)) positions.set(r.stream, { epoch: r.epoch, offset: r.offset });
      log.push({ stream: r.stream, kind: 'told', c: { stream: r.stream, epoch: r.epoch, offset: r.offset } });
      return r;
    },
    leave: (room) => client.leave(room),
    joinRewind: (room, rewind) =>
      (client.join as (room: string, options: unknown) => Promise<unknown>)(room, { rewind }),
    growth: (stream) => grown.filter((g) => g.stream === stream),
    reload() {
      throw new Error('reload: the official client is reloaded through its persistence (not driven here)');
    },
    setUser(u) {
      token = u;
    },
    async endSession() {
      client.close({ endSession: true });
    },
    async close() {
      waiters = [];
      client.close();
    },
  };
}
