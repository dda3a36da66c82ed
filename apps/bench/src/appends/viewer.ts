import { WebSocket } from 'ws';
import { SOCKET_OPTIONS } from '../loadgen/conn.js';
import { ROOM, type StreamMode } from './answer.js';

const STREAM = `room:${ROOM}`;

interface Frame {
  t: string;
  [k: string]: any;
}

/** Bytes and time a viewer took to hold the text the server had sent when it (re)connected. */
export interface CatchUp {
  /** When the join (or resume) was sent, ms (performance.now). */
  sentAt: number;
  /** Bytes received before it. */
  bytesAt: number;
  /** Text length to reach. */
  target: number;
  ms?: number;
  bytes?: number;
}

/**
 * One viewer of the streamed answer, speaking the Holdfast wire protocol by hand (like the other
 * scenarios' load generator) with the client's rule for growing messages (docs/PROTOCOL.md §10.3):
 * a start or snapshot replaces the message's value when the viewer holds it at a lower offset, an
 * `app` is folded when above it. In `plain` mode every token is a plain `msg`, kept above the
 * cursor and concatenated. Acks after 50 frames or 1 s, like the client.
 */
export class Viewer {
  text = '';
  done = false;
  /** Frames applied (deliveries to the app). */
  applied = 0;
  /** Frames dropped by the rules above (already held). */
  dropped = 0;
  bytes = 0;
  gaps = 0;
  errors = 0;
  resumes = 0;
  failedResumes = 0;
  catchUp: CatchUp | undefined;
  unexpectedClose: number | undefined;
  private ws: WebSocket | undefined;
  private sessionId: string | undefined;
  private resumeToken: string | undefined;
  private readonly cursors = new Map<string, { epoch: string; offset: number }>();
  private readonly open = new Map<number, { value: string; at: number }>();
  private joined = false;
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private ready: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private closing = false;

  constructor(
    readonly url: string,
    readonly mode: StreamMode,
    /** The length of the whole answer: a plain viewer is done when it holds that much. */
    readonly total: number,
  ) {}

  /**
   * Connect and join the room; `late`: ask for the room's past (`rewind`): the answer's one entry
   * when it grows by appends (open or already ended), every token's entry when plain (without
   * it, a late joiner would start at the room's head and never hold the answer). Resolves when joined.
   */
  connect(late: boolean): Promise<void> {
    return this.openSocket(() => {
      const join: Frame = { t: 'join', id: 'j', room: ROOM };
      if (late) join.rewind = this.mode === 'appends' ? { count: 1 } : { ageMs: 3_600_000 };
      return join;
    });
  }

  /** Drop the socket as a network failure would (no close frame). */
  drop(): void {
    this.closing = true;
    this.ws?.terminate();
    this.ws = undefined;
  }

  /** Reconnect with `hello.resume` and the cursors held; resolves on `welcome`. */
  resume(): Promise<void> {
    return this.openSocket(undefined);
  }

  close(): void {
    this.closing = true;
    clearTimeout(this.ackTimer);
    this.ws?.close();
  }

  private openSocket(join: (() => Frame) | undefined): Promise<void> {
    this.closing = false;
    return new Promise<void>((resolve, reject) => {
      this.ready = { resolve, reject };
      const ws = new WebSocket(this.url, 'holdfast.v1', SOCKET_OPTIONS);
      this.ws = ws;
      ws.on('error', (err) => this.ready?.reject(err));
      ws.on('close', (code) => {
        if (this.ws === ws) this.ws = undefined;
        if (!this.closing) this.unexpectedClose ??= code;
        this.ready?.reject(new Error(`closed ${code}`));
      });
      ws.on('open', () => {
        const hello: Frame = { t: 'hello', version: 1 };
        if (!join && this.sessionId) {
          hello.resume = {
            sessionId: this.sessionId,
            resumeToken: this.resumeToken,
            cursors: [...this.cursors].map(([stream, c]) => ({ stream, ...c })),
          };
        }
        ws.send(JSON.stringify(hello));
      });
      ws.on('message', (data: Buffer) => {
        this.bytes += data.length;
        const f = JSON.parse(data.toString()) as Frame;
        this.onFrame(ws, f, join);
      });
    });
  }

  private settle(err?: Error): void {
    const r = this.ready;
    this.ready = undefined;
    if (!r) return;
    if (err) r.reject(err);
    else r.resolve();
  }

  private onFrame(ws: WebSocket, f: Frame, join: (() => Frame) | undefined): void {
    switch (f.t) {
      case 'msg':
        return this.onMsg(f);
      case 'app':
        return this.onApp(f);
      case 'ping':
        ws.send(f.ts === undefined ? '{"t":"pong"}' : `{"t":"pong","ts":${f.ts}}`);
        return;
      case 'welcome': {
        this.sessionId = f.sessionId;
        this.resumeToken = f.resumeToken;
        if (!join) {
          if (f.resumed) this.resumes += 1;
          else this.failedResumes += 1;
        }
        for (const s of f.streams as { stream: string; epoch: string; offset: number; status: string }[]) {
          if (s.status === 'gap') this.gaps += 1;
          this.cursors.set(s.stream, { epoch: s.epoch, offset: s.offset });
        }
        if (join && !this.joined) ws.send(JSON.stringify(join()));
        else this.settle();
        return;
      }
      case 'sub':
        if (f.op === 'join') this.cursors.set(f.stream, { epoch: f.epoch, offset: f.offset });
        return;
      case 'res':
        if (f.id !== 'j') return;
        if (!f.ok) return this.settle(new Error(`join refused: ${f.error?.code}`));
        this.joined = true;
        this.settle();
        return;
      case 'gap':
        this.gaps += 1;
        return;
      case 'error':
        if (this.errors++ === 0) console.error(`holdfast error frame: ${JSON.stringify(f.error)}`);
        return;
    }
  }

  private onMsg(f: Frame): void {
    if (f.stream !== STREAM) return;
    const c = this.cursors.get(STREAM);
    if (f.start === undefined && !f.open) {
      // A plain message: the drop rule of §4.2.
      if (c && c.epoch === f.epoch && f.offset <= c.offset) {
        this.dropped += 1;
        return;
      }
      this.text += f.data as string;
      return this.applied1(f);
    }
    const key = (f.start as number | undefined) ?? f.offset;
    const held = this.open.get(key);
    if (held && held.at >= f.offset) {
      this.dropped += 1;
      return;
    }
    this.open.set(key, { value: f.data as string, at: f.offset });
    this.text = f.data as string;
    if (!f.open) this.finish(this.text, key);
    this.applied1(f);
  }

  private onApp(f: Frame): void {
    if (f.stream !== STREAM) return;
    const held = this.open.get(f.start);
    if (!held || held.at >= f.offset) {
      this.dropped += 1;
      return;
    }
    held.value += (f.data as string | undefined) ?? '';
    held.at = f.offset;
    this.text = held.value;
    if (f.end) this.finish(held.value, f.start);
    this.applied1(f);
  }

  private finish(text: string, key?: number): void {
    this.text = text;
    this.done = true;
    if (key !== undefined) this.open.delete(key);
  }

  private applied1(f: Frame): void {
    this.applied += 1;
    const c = this.cursors.get(STREAM);
    if (!c || c.epoch !== f.epoch) this.cursors.set(STREAM, { epoch: f.epoch, offset: f.offset });
    else c.offset = Math.max(c.offset, f.offset);
    if (this.mode === 'plain' && this.text.length >= this.total) this.done = true;
    const cu = this.catchUp;
    if (cu && cu.ms === undefined && this.text.length >= cu.target) {
      cu.ms = performance.now() - cu.sentAt;
      cu.bytes = this.bytes - cu.bytesAt;
    }
    if (++this.unacked >= 50) this.ack();
    else this.ackTimer ??= setTimeout(() => this.ack(), 1000);
  }

  /** What a viewer holds, for the orchestrator's error message when it never finishes. */
  debug(): Record<string, unknown> {
    return {
      cursor: this.cursors.get(STREAM),
      open: [...this.open].map(([k, v]) => ({ key: k, at: v.at, length: v.value.length })),
      applied: this.applied,
      dropped: this.dropped,
      gaps: this.gaps,
      resumes: this.resumes,
      failedResumes: this.failedResumes,
      close: this.unexpectedClose,
    };
  }

  private ack(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unacked = 0;
    const c = this.cursors.get(STREAM);
    if (c && this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ t: 'ack', cursors: [{ stream: STREAM, ...c }] }));
  }
}
