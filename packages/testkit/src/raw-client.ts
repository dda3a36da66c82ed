import { once } from 'node:events';
import { WebSocket } from 'ws';

export type AnyFrame = Record<string, any> & { t: string };

/**
 * A test client speaking the wire protocol by hand on a real `ws` socket. It records every
 * frame and lets tests wait for frames by predicate (no sleeps).
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly frames: AnyFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { pred: (f: AnyFrame) => boolean; resolve: (f: AnyFrame) => void; from: number }[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  constructor(
    url: string,
    options: {
      protocols?: string[];
      headers?: Record<string, string>;
      autoPong?: boolean;
      localAddress?: string;
    } = {},
  ) {
    this.ws = new WebSocket(url, options.protocols ?? ['holdfast.v1'], {
      headers: options.headers ?? {},
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as AnyFrame;
      this.frames.push(f);
      if (f.t === 'ping' && options.autoPong !== false) this.send({ t: 'pong', ts: f.ts });
      for (const w of [...this.waiters]) {
        if (w.pred(f)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(f);
        }
      }
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters.splice(0)) w(this.closed);
    });
  }

  static async open(url: string, options?: ConstructorParameters<typeof RawClient>[1]): Promise<RawClient> {
    const c = new RawClient(url, options);
    await Promise.race([once(c.ws, 'open'), c.closedPromise()]);
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolve with the first frame (already received or future) matching `pred`. */
  next(pred: (f: AnyFrame) => boolean, from = 0): Promise<AnyFrame> {
    const found = this.frames.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ pred, resolve, from }));
  }

  /** Resolve when `count` frames match `pred`. */
  async collect(pred: (f: AnyFrame) => boolean, count: number): Promise<AnyFrame[]> {
    for (;;) {
      const got = this.frames.filter(pred);
      if (got.length >= count) return got;
      await new Promise<AnyFrame>((resolve) => this.waiters.push({ pred: () => true, resolve, from: 0 }));
    }
  }

  closedPromise(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  async hello(extra: Record<string, unknown> = {}): Promise<AnyFrame> {
    this.send({ t: 'hello', version: 1, ...extra });
    return Promise.race([
      this.next((f) => f.t === 'welcome'),
      this.closedPromise().then((c) => {
        throw new Error(`closed ${c.code} ${c.reason}`);
      }),
    ]);
  }

  msgs(stream?: string): AnyFrame[] {
    return this.frames.filter((f) => f.t === 'msg' && (stream === undefined || f.stream === stream));
  }

  close(): Promise<{ code: number; reason: string }> {
    const p = this.closedPromise();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000);
    return p;
  }

  terminate(): Promise<{ code: number; reason: string }> {
    const p = this.closedPromise();
    this.ws.terminate();
    return p;
  }
}

/** The cursors of everything a client received, per stream (for hello.resume). */
export function cursorsOf(frames: AnyFrame[]): { stream: string; epoch: string; offset: number }[] {
  const map = new Map<string, { stream: string; epoch: string; offset: number }>();
  for (const f of frames) {
    if (f.t === 'welcome')
      for (const s of f.streams) map.set(s.stream, { stream: s.stream, epoch: s.epoch, offset: s.offset });
    if (f.t === 'sub' && f.op === 'join')
      map.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.offset });
    if (f.t === 'msg' || f.t === 'app') {
      const c = map.get(f.stream);
      // Extension `appends` (§10.3): a snapshot may carry an offset below the cursor.
      if (!c || c.epoch !== f.epoch || c.offset < f.offset)
        map.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.offset });
    }
  }
  return [...map.values()];
}
