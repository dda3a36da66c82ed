import { decode, type ProtocolError, type ServerFrame } from '@holdfast/protocol';
import type { CloseInfo, TransitionReason } from './connection-state.js';
import type { Clock, Logger } from './options.js';
import { OPEN, type WebSocketConstructor, type WebSocketLike } from './socket.js';

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

/** Settings of one {@link Connection}. */
export interface ConnectionSettings {
  WebSocket: WebSocketConstructor;
  url: string;
  protocols: string[];
  clock: Clock;
  connectTimeoutMs: number;
  maxIncomingBytes: number;
  logger: Logger | undefined;
}

/** Close code the client uses when it gives up on a silent or slow connection. */
const TIMEOUT_CODE = 4408;

/**
 * One WebSocket, from creation to close. It enforces the connect deadline, then the
 * heartbeat watchdog, decodes frames, and reports its end once. After {@link Connection.close}
 * or its end, the socket's events are ignored (tRPC's `if (this.#ws === ws)`).
 */
export class Connection {
  #ws: WebSocketLike | undefined;
  #timer: unknown;
  #lastFrameAt: number;
  readonly #s: ConnectionSettings;
  readonly #h: ConnectionHandlers;

  /** @throws whatever the WebSocket constructor throws (e.g. a SyntaxError for a bad URL). */
  constructor(settings: ConnectionSettings, handlers: ConnectionHandlers) {
    this.#s = settings;
    this.#h = handlers;
    const ws = new settings.WebSocket(settings.url, settings.protocols);
    this.#ws = ws;
    this.#lastFrameAt = settings.clock.now();
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
    ws.onerror = this.#logError;
    this.#timer = settings.clock.setTimeout(
      () => this.#end({ code: TIMEOUT_CODE, reason: 'Connect timeout' }, 'connect-timeout', true),
      settings.connectTimeoutMs,
    );
  }

  /** Write one encoded frame. Returns false (and writes nothing) unless the socket is open. */
  send(text: string): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(text);
      return true;
    } catch (error) {
      this.#s.logger?.warn('holdfast: socket send failed', { error: String(error) });
      return false;
    }
  }

  /** `welcome` arrived: replace the connect deadline with a heartbeat watchdog. */
  watch(timeoutMs: number): void {
    this.#s.clock.clearTimeout(this.#timer);
    this.#arm(timeoutMs, timeoutMs);
  }

  /** Milliseconds since the last frame from the server. */
  idleMs(): number {
    return this.#s.clock.now() - this.#lastFrameAt;
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
      this.#s.logger?.warn('holdfast: socket close failed', { error: String(error) });
    }
  }

  #detach(): WebSocketLike | undefined {
    const ws = this.#ws;
    this.#ws = undefined;
    this.#s.clock.clearTimeout(this.#timer);
    if (ws) ws.onopen = ws.onmessage = ws.onclose = null;
    return ws;
  }

  readonly #logError = () => this.#s.logger?.debug('holdfast: socket error');

  #arm(delayMs: number, timeoutMs: number): void {
    this.#timer = this.#s.clock.setTimeout(() => {
      const idle = this.idleMs();
      if (idle >= timeoutMs) {
        this.#end({ code: TIMEOUT_CODE, reason: 'Heartbeat timeout' }, 'heartbeat-timeout', true);
      } else {
        this.#arm(timeoutMs - idle, timeoutMs);
      }
    }, delayMs);
  }

  #receive(data: unknown): void {
    // Any frame is a sign of life, even one we cannot decode. Reading the clock per frame is
    // cheaper than re-arming a timer per frame.
    this.#lastFrameAt = this.#s.clock.now();
    const r = decode(data, 'server', { maxBytes: this.#s.maxIncomingBytes });
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
