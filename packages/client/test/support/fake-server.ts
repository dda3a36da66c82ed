import {
  type ClientFrame,
  decode,
  encode,
  type HelloFrame,
  type ServerFrame,
  type StreamStatus,
  SUBPROTOCOL,
  type WelcomeFrame,
} from '@holdfast/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A protocol-speaking fake Holdfast server for client tests that must force timing: a `ws`
 * server on 127.0.0.1, port 0. It answers `hello` with a `welcome` (customisable), answers
 * `join`/`leave`/`ping` like the real server, records every client frame, and lets the test
 * push any frame or close code. `pub` frames are not answered unless `answer` is given.
 */
export interface FakeServerOptions {
  /** Fields to put in (or override of) the welcome; `false` to not answer the hello. */
  welcome?: (hello: HelloFrame, conn: FakeConnection) => Partial<WelcomeFrame> | false;
  /** Handle a `join`/`leave` instead of the default answer (`sub` then `res`): return true. */
  room?: (frame: Extract<ClientFrame, { t: 'join' | 'leave' }>, conn: FakeConnection) => boolean;
  /** Answer a `pub`: return `{ result }` or `{ error }`, or undefined to leave it unanswered. */
  answer?: (
    pub: Extract<ClientFrame, { t: 'pub' }>,
    conn: FakeConnection,
  ) => { result?: unknown; error?: { code: string; message: string } } | undefined;
}

type FrameOfT<T extends ClientFrame['t']> = Extract<ClientFrame, { t: T }>;

/** One accepted connection, seen from the server. */
export class FakeConnection {
  /** Every valid frame received, in order. */
  readonly received: ClientFrame[] = [];
  /** Subprotocols the client offered. */
  readonly offered: string[];
  /** The request URL (path and query). */
  readonly url: string;
  /** Resolves with the close code and reason the server saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly taken = new Set<number>();
  private waiters: { t: string; pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];

  constructor(
    readonly ws: WebSocket,
    offered: string[],
    url: string,
  ) {
    this.offered = offered;
    this.url = url;
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Whether the server side of the socket is open. */
  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Send a server frame (validated by `encode`). */
  send(frame: ServerFrame): void {
    this.ws.send(encode(frame));
  }

  /** Send raw text (for malformed frames). */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Close with a code and reason, as the real server does. */
  close(code: number, reason = ''): void {
    this.ws.close(code, reason);
  }

  /** The next frame of type `t` (matching `pred`) not taken yet; waits for it if needed. */
  next<T extends ClientFrame['t']>(
    t: T,
    pred: (f: FrameOfT<T>) => boolean = () => true,
  ): Promise<FrameOfT<T>> {
    const i = this.received.findIndex((f, k) => !this.taken.has(k) && f.t === t && pred(f as FrameOfT<T>));
    if (i >= 0) {
      this.taken.add(i);
      return Promise.resolve(this.received[i] as FrameOfT<T>);
    }
    return new Promise((resolve) => this.waiters.push({ t, pred, resolve }));
  }

  /** @internal */
  receive(frame: ClientFrame): void {
    const index = this.received.push(frame) - 1;
    const w = this.waiters.find((x) => x.t === frame.t && x.pred(frame));
    if (w) {
      this.taken.add(index);
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(frame);
    }
  }
}

/** The `limits` of the default welcome. */
export const DEFAULT_LIMITS = { maxPayload: 65_536, maxRooms: 100, messagesPerSecond: 100 };

/** The fake server. Create with {@link startFakeServer}; dispose with `await using`. */
export class FakeServer {
  /** Every connection accepted, in order. */
  readonly connections: FakeConnection[] = [];
  /** Session ids the server created (a resume of one of them succeeds). */
  readonly sessions = new Set<string>();
  private handedOut = 0;
  private waiters: ((c: FakeConnection) => void)[] = [];
  private sessionCount = 0;

  constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    /** Its options: a test may change them between connections. */
    readonly options: FakeServerOptions,
  ) {
    wss.on('connection', (ws, req) => this.accept(ws, req.headers['sec-websocket-protocol'], req.url ?? '/'));
  }

  /** The next connection not handed out yet (in accept order); waits for it if needed. */
  nextConnection(): Promise<FakeConnection> {
    const c = this.connections[this.handedOut];
    if (c) {
      this.handedOut++;
      return Promise.resolve(c);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Server-side sockets currently open. */
  openCount(): number {
    return this.connections.filter((c) => c.open).length;
  }

  /** The welcome the server sends for `hello` unless the test overrides fields. */
  defaultWelcome(hello: HelloFrame): WelcomeFrame {
    const resume = hello.resume;
    const resumed = resume !== undefined && this.sessions.has(resume.sessionId);
    const sessionId = resumed ? resume.sessionId : `s${++this.sessionCount}`;
    this.sessions.add(sessionId);
    const streams: StreamStatus[] = resumed
      ? resume.cursors.map((c) => ({ ...c, status: 'recovered' as const }))
      : [
          { stream: `session:${sessionId}`, epoch: 'e1', offset: 0, status: 'new' },
          { stream: 'broadcast', epoch: 'e1', offset: 0, status: 'new' },
        ];
    return {
      t: 'welcome',
      version: 1,
      sessionId,
      resumeToken: `r-${sessionId}`,
      resumed,
      ...(resume && !resumed ? { resumeError: 'expired' as const } : {}),
      streams,
      heartbeat: { intervalMs: 25_000, timeoutMs: 55_000 },
      limits: DEFAULT_LIMITS,
    };
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private accept(ws: WebSocket, protocolHeader: string | undefined, url: string): void {
    const offered = (protocolHeader ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const conn = new FakeConnection(ws, offered, url);
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const r = decode(isBinary ? data : data.toString(), 'client');
      if (!r.ok) throw r.error;
      conn.receive(r.frame);
      this.react(r.frame, conn);
    });
    this.connections.push(conn);
    const waiter = this.waiters.shift();
    if (waiter) {
      this.handedOut++;
      waiter(conn);
    }
  }

  private react(f: ClientFrame, conn: FakeConnection): void {
    switch (f.t) {
      case 'hello': {
        const custom = this.options.welcome?.(f, conn);
        if (custom === false) return;
        conn.send({ ...this.defaultWelcome(f), ...custom });
        return;
      }
      case 'ping':
        conn.send(f.ts === undefined ? { t: 'pong' } : { t: 'pong', ts: f.ts });
        return;
      case 'join':
      case 'leave': {
        if (this.options.room?.(f, conn)) return;
        const stream = `room:${f.room}`;
        conn.send(
          f.t === 'join'
            ? { t: 'sub', op: 'join', room: f.room, stream, epoch: 'e1', offset: 0 }
            : { t: 'sub', op: 'leave', room: f.room, stream },
        );
        conn.send({
          t: 'res',
          id: f.id,
          ok: true,
          ...(f.t === 'join' ? { result: { stream, epoch: 'e1', offset: 0 } } : {}),
        });
        return;
      }
      case 'pub': {
        const a = this.options.answer?.(f, conn);
        if (!a) return;
        conn.send(
          a.error
            ? { t: 'res', id: f.id, ok: false, error: a.error }
            : { t: 'res', id: f.id, ok: true, result: a.result },
        );
        return;
      }
      default:
        return;
    }
  }
}

/** Start a fake server on 127.0.0.1, port 0. */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const address = wss.address();
  if (!address || typeof address === 'string') throw new Error('unexpected address');
  return new FakeServer(wss, `ws://127.0.0.1:${address.port}`, options);
}

/**
 * A fake server whose welcome announces that the connection's token expires at `expiresAt`
 * (`limits.tokenExpiresAt`), with a heartbeat too slow to matter in the test.
 */
export function startExpiringServer(expiresAt: number): Promise<FakeServer> {
  const heartbeat = { intervalMs: 25_000, timeoutMs: 600_000 };
  return startFakeServer({
    welcome: () => ({ heartbeat, limits: { ...DEFAULT_LIMITS, tokenExpiresAt: expiresAt } }),
  });
}
