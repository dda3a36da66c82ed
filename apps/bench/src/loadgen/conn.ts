import { WebSocket } from 'ws';
import { type Echo, nowMs } from '../payload.js';
import type { Receiver, Tracker } from './tracker.js';

/** How long an attempt may take from opening the socket to being ready (joined). */
export const READY_TIMEOUT_MS = 15_000;

/** Options of every client socket: no compression, a bounded handshake. */
export const SOCKET_OPTIONS = { perMessageDeflate: false, handshakeTimeout: READY_TIMEOUT_MS } as const;

/** What a connection reports to the load generator. */
export interface ConnHooks {
  tracker: Tracker;
  /** An echo response arrived for request `seq`. */
  onEchoReply(conn: BenchConn, seq: number): void;
  /** A connection closed that nobody asked to close. */
  onUnexpectedClose(conn: BenchConn, code: number, reason: string): void;
}

/**
 * One client connection speaking a target's wire protocol by hand over a raw `ws` client, so the
 * client-side cost is the same for every target. Subclasses implement the protocol.
 */
export abstract class BenchConn implements Receiver {
  lastId = 0;
  readyAt = 0;
  replayedAt = 0;
  caughtUpAt = 0;
  /** Echo request in flight (-1: none). */
  outstanding = -1;
  nextSeq = 0;
  protected ws: WebSocket | undefined;
  private ready: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private closing = false;

  constructor(
    readonly index: number,
    readonly url: string,
    /** `*` (broadcast) or the room name. */
    readonly channel: string,
    readonly room: string | undefined,
    protected readonly hooks: ConnHooks,
  ) {}

  /** Open a connection and resolve once it is ready (joined to its room, if any). */
  open(resume: boolean): Promise<void> {
    this.closing = false;
    return new Promise<void>((resolve, reject) => {
      // A handshake or join that never completes fails the attempt (the caller retries).
      const timer = setTimeout(() => this.failReady(new Error('not ready in time')), READY_TIMEOUT_MS);
      this.ready = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const ws = this.createSocket();
      this.ws = ws;
      ws.on('open', () => {
        if (this.ws === ws) this.onOpen(ws, resume);
      });
      ws.on('message', (data: Buffer) => {
        if (this.ws === ws) this.onText(ws, data.toString(), resume);
      });
      // After ready, an error is followed by 'close', which reports it.
      ws.on('error', (err) => {
        if (this.ws === ws && this.ready) this.failReady(err);
      });
      ws.on('close', (code, reason) => {
        if (this.ws !== ws) return;
        this.ws = undefined;
        if (this.ready) this.failReady(new Error(`closed with ${code} before ready`));
        else if (!this.closing) this.hooks.onUnexpectedClose(this, code, reason.toString());
      });
    });
  }

  /** Cut the connection like a network failure would (no close handshake). */
  cut(): void {
    this.closing = true;
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
  }

  /** Close the connection normally. */
  close(): Promise<void> {
    this.closing = true;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000);
    });
  }

  /** Send echo request `seq`. */
  abstract sendEcho(seq: number, body: Echo): void;
  protected abstract createSocket(): WebSocket;
  protected abstract onOpen(ws: WebSocket, resume: boolean): void;
  protected abstract onText(ws: WebSocket, text: string, resume: boolean): void;

  protected markReady(): void {
    const r = this.ready;
    this.ready = undefined;
    this.readyAt = nowMs();
    r?.resolve();
  }

  protected failReady(err: Error): void {
    const r = this.ready;
    this.ready = undefined;
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
    r?.reject(err);
  }

  protected tick(id: number, ts: number): void {
    this.hooks.tracker.onTick(this, id, ts, nowMs());
  }
}
