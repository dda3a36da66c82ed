import type { ProtocolError, ServerFrame } from '@holdfast/protocol';
import type { CloseInfo, TransitionReason } from './connection-state.js';
import type { ResolvedOptions } from './options.js';
import {
  CLOSE_TIMEOUT,
  decodeServerFrameLenient,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
} from './protocol.js';
import { OPEN, type WebSocketLike } from './socket.js';

/** What a {@link Connection} reports to its client. */
export interface ConnectionHandlers {
  /** The socket opened: send `hello`. */
  open(): void;
  /** A valid server frame arrived. */
  frame(frame: ServerFrame): void;
  /** An undecodable server frame arrived (dropped). */
  badFrame(error: ProtocolError): void;
  /** The connection ended by itself (socket closed, connect deadline, heartbeat). Called once. */
  end(close: CloseInfo, reason: TransitionReason): void;
}

/** Close code the client uses when it gives up on a silent or slow connection. */
const TIMEOUT_CODE = CLOSE_TIMEOUT;

/**
 * One WebSocket, from creation to close. It enforces the connect deadline, then the
 * heartbeat watchdog, decodes frames, and reports its end once. After {@link Connection.close}
 * or its end, the socket's events are ignored (tRPC's `if (this.#ws === ws)`).
 */
export class Connection {
  #ws: WebSocketLike | undefined;
  #timer: unknown;
  #lastFrameAt: number;
  /** The heartbeat the welcome announced (none before it). */
  #heartbeat: { intervalMs: number; timeoutMs: number } | undefined;
  readonly #o: ResolvedOptions;
  readonly #h: ConnectionHandlers;

  /**
   * Open a socket with the client's options (`url`, `WebSocket`, connect deadline, frame size
   * limit...), carrying `token` in the subprotocols or the query string if `tokenTransport`
   * says so.
   * @throws whatever the WebSocket constructor throws (e.g. a SyntaxError for a bad URL).
   */
  constructor(o: ResolvedOptions, token: string | undefined, handlers: ConnectionHandlers) {
    this.#o = o;
    this.#h = handlers;
    let url = o.url;
    const protocols = [SUBPROTOCOL];
    if (token !== undefined) {
      if (o.tokenTransport === 'subprotocol') protocols.push(TOKEN_SUBPROTOCOL_PREFIX + token);
      if (o.tokenTransport === 'query')
        url += `${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    }
    const ws = new o.WebSocket(url, protocols);
    this.#ws = ws;
    this.#lastFrameAt = o.clock.now();
    ws.onopen = () => {
      if (this.#ws === ws) handlers.open();
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (this.#ws === ws) this.#receive(event.data);
    };
    ws.onclose = (event: { code: number; reason: string }) => {
      if (this.#ws === ws) this.#end({ code: event.code, reason: event.reason ?? '' }, 'socket-closed');
    };
    // An 'error' is always followed by 'close', which does the work. The listener must exist:
    // `ws` throws on an unhandled 'error' event.
    ws.onerror = () => o.logger?.debug({}, 'holdfast: socket error');
    this.#timer = o.clock.setTimeout(
      () => this.#end({ code: TIMEOUT_CODE, reason: 'Connect timeout' }, 'connect-timeout', true),
      o.timeouts.connectMs,
    );
  }

  /** Write one encoded frame. Returns false (and writes nothing) unless the socket is open. */
  send(text: string): boolean {
    const ws = this.#ws;
    if (ws?.readyState !== OPEN) return false;
    try {
      ws.send(text);
      return true;
    } catch (error) {
      this.#o.logger?.warn({ error: String(error) }, 'holdfast: socket send failed');
      return false;
    }
  }

  /** `welcome` arrived: replace the connect deadline with a heartbeat watchdog. */
  watch(heartbeat: { intervalMs: number; timeoutMs: number }): void {
    this.#heartbeat = heartbeat;
    this.#o.clock.clearTimeout(this.#timer);
    this.#arm(heartbeat.timeoutMs);
  }

  /** After `watch()`: whether nothing came from the server for longer than the heartbeat interval. */
  missedBeats(): boolean {
    return this.#idleMs() > this.#heartbeat!.intervalMs;
  }

  /** Milliseconds since the last frame from the server. */
  #idleMs(): number {
    return this.#o.clock.now() - this.#lastFrameAt;
  }

  /** Close on purpose. No `end` is reported; the socket's later events are ignored. */
  close(code: number, reason: string, dead = false): void {
    const ws = this.#detach();
    if (!ws) return;
    try {
      ws.close(code, reason);
      // A dead (half-open) socket would wait for a closing handshake that never comes.
      if (dead) ws.terminate?.();
    } catch (error) {
      this.#o.logger?.warn({ error: String(error) }, 'holdfast: socket close failed');
    }
  }

  #detach(): WebSocketLike | undefined {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#o.clock.clearTimeout(this.#timer);
    if (ws) ws.onopen = ws.onmessage = ws.onclose = null;
    return ws;
  }

  #arm(delayMs: number): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      const timeoutMs = this.#heartbeat!.timeoutMs;
      const idle = this.#idleMs();
      if (idle >= timeoutMs) {
        this.#end({ code: TIMEOUT_CODE, reason: 'Heartbeat timeout' }, 'heartbeat-timeout', true);
      } else {
        this.#arm(timeoutMs - idle);
      }
    }, delayMs);
  }

  #receive(data: unknown): void {
    // Any frame is a sign of life, even one we cannot decode. Reading the clock per frame is
    // cheaper than re-arming a timer per frame.
    this.#lastFrameAt = this.#o.clock.now();
    const r = decodeServerFrameLenient(data, { maxBytes: this.#o.maxIncomingBytes });
    if (r.ok) this.#h.frame(r.frame);
    else this.#h.badFrame(r.error);
  }

  /** Report the end; `timedOut` sockets are still open and get closed (and dropped) first. */
  #end(close: CloseInfo, reason: TransitionReason, timedOut = false): void {
    if (timedOut) this.close(close.code, close.reason, true);
    else this.#detach();
    this.#h.end(close, reason);
  }
}
