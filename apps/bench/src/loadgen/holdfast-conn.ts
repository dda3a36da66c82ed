import { WebSocket } from 'ws';
import { type Echo, nowMs, type Tick } from '../payload.js';
import { BenchConn, SOCKET_OPTIONS } from './conn.js';

interface Cursor {
  epoch: string;
  offset: number;
  acked: number;
}

interface Frame {
  t: string;
  [k: string]: any;
}

/** When a Holdfast client acks: after `every` unacked messages or `delayMs` after the first one. */
export interface AckPolicy {
  every: number;
  delayMs: number;
}

/** The protocol's (and the Holdfast client's) defaults: 500 messages or 1 s. */
export const DEFAULT_ACK: AckPolicy = { every: 500, delayMs: 1000 };

/**
 * The Holdfast wire protocol (docs/PROTOCOL.md) by hand: `hello` → `welcome`, `join` → `sub` +
 * `res`, `msg` with per-stream cursors and batched `ack`s, `ping` → `pong`, resume with
 * `hello.resume` and the cursors held.
 */
export class HoldfastConn extends BenchConn {
  private sessionId: string | undefined;
  private resumeToken: string | undefined;
  private readonly cursors = new Map<string, Cursor>();
  unacked = 0;
  firstUnackedAt = 0;
  /** `msg` frames at or below the cursor, dropped as the protocol says. */
  droppedDuplicates = 0;
  gaps = 0;
  errors = 0;
  resumed = 0;
  ack: AckPolicy = DEFAULT_ACK;
  private welcomed = false;

  protected createSocket(): WebSocket {
    return new WebSocket(this.url, 'holdfast.v1', SOCKET_OPTIONS);
  }

  protected onOpen(ws: WebSocket, resume: boolean): void {
    // Nothing but hello until the welcome: pending acks are covered by the resume cursors.
    this.welcomed = false;
    this.unacked = 0;
    const hello: Frame = { t: 'hello', version: 1 };
    if (resume && this.sessionId && this.resumeToken) {
      hello.resume = {
        sessionId: this.sessionId,
        resumeToken: this.resumeToken,
        cursors: [...this.cursors].map(([stream, c]) => ({ stream, epoch: c.epoch, offset: c.offset })),
      };
    }
    ws.send(JSON.stringify(hello));
  }

  protected onText(ws: WebSocket, text: string): void {
    const f = JSON.parse(text) as Frame;
    switch (f.t) {
      case 'msg':
        return this.onMsg(ws, f);
      case 'ping':
        ws.send(f.ts === undefined ? '{"t":"pong"}' : `{"t":"pong","ts":${f.ts}}`);
        return;
      case 'welcome':
        return this.onWelcome(ws, f);
      case 'sub':
        if (f.op === 'join')
          this.cursors.set(f.stream, { epoch: f.epoch, offset: f.offset, acked: f.offset });
        return;
      case 'res':
        if (f.id === 'join') {
          if (f.ok) this.markReady();
          else this.failReady(new Error(`join refused: ${f.error?.code}`));
        } else this.hooks.onEchoReply(this, Number(f.id));
        return;
      case 'gap':
        this.gaps += 1;
        this.cursors.set(f.stream, { epoch: f.epoch, offset: f.to, acked: 0 });
        return;
      case 'error':
        if (this.errors++ === 0) console.error(`holdfast error frame: ${JSON.stringify(f.error)}`);
        return;
    }
  }

  private onWelcome(ws: WebSocket, f: Frame): void {
    this.welcomed = true;
    this.sessionId = f.sessionId;
    this.resumeToken = f.resumeToken;
    if (f.resumed) this.resumed += 1;
    else this.cursors.clear();
    let inRoom = false;
    for (const s of f.streams as { stream: string; epoch: string; offset: number; status: string }[]) {
      if (s.status === 'gap') this.gaps += 1;
      this.cursors.set(s.stream, { epoch: s.epoch, offset: s.offset, acked: s.offset });
      if (this.room !== undefined && s.stream === `room:${this.room}`) inRoom = true;
    }
    if (this.room === undefined || inRoom) this.markReady();
    else ws.send(JSON.stringify({ t: 'join', id: 'join', room: this.room }));
  }

  private onMsg(ws: WebSocket, f: Frame): void {
    const c = this.cursors.get(f.stream);
    if (c && c.epoch === f.epoch && f.offset <= c.offset) {
      this.droppedDuplicates += 1;
      return;
    }
    if (c) {
      c.epoch = f.epoch;
      c.offset = f.offset;
    } else this.cursors.set(f.stream, { epoch: f.epoch, offset: f.offset, acked: 0 });
    if (this.unacked++ === 0) this.firstUnackedAt = nowMs();
    const tick = f.data as Tick;
    this.tick(tick.id, tick.ts);
    if (this.unacked >= this.ack.every) this.flushAcks(ws);
  }

  /** Send an `ack` with every cursor that moved since the last one. */
  flushAcks(ws: WebSocket | undefined = this.ws): void {
    this.unacked = 0;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    const cursors: { stream: string; epoch: string; offset: number }[] = [];
    for (const [stream, c] of this.cursors) {
      if (c.offset > c.acked) {
        cursors.push({ stream, epoch: c.epoch, offset: c.offset });
        c.acked = c.offset;
      }
    }
    if (cursors.length) ws.send(JSON.stringify({ t: 'ack', cursors }));
  }

  sendEcho(seq: number, body: Echo): void {
    this.ws?.send(JSON.stringify({ t: 'pub', id: String(seq), type: 'echo', data: body }));
  }
}
