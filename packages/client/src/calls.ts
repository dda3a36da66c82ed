import type { AnyProtocol, ClientFrame, ResFrame, ServerFrame } from '@holdfast/protocol';
import { backoffDelay } from './backoff.js';
import { type ControlFrame, Controls, type Outcome, settle } from './controls.js';
import type { AckEvent } from './events.js';
import type { ResolvedOptions } from './options.js';
import { Outbox, type OutboxEntry, type OutboxKind, outboxEntry, type PendingMessage } from './outbox.js';
import { encodeOwnClientFrame, HoldfastError } from './protocol.js';

/** What {@link Calls} asks of its client. */
export interface CallsHandlers {
  /** Write a frame to the current connection; false when there is none (or it failed). */
  send(text: string): boolean;
  /** Whether the client is connected: new frames go out at once. */
  connected(): boolean;
  /** Throw `CLIENT_CLOSED` when the client is closed or failed. */
  assertOpen(): void;
  /** Note a change of the persisted state (outbox, id counter). */
  persist(): void;
  /** Emit an `ack` event. */
  ack(event: AckEvent): void;
}

/**
 * Everything the client sent that waits for a `res` with its id: app messages and requests in
 * the outbox (resent after reconnects until answered), and `join`/`leave`/`refresh` controls.
 *
 * Ids are a random base36 prefix per client instance and a counter (`k3j9x2-1`,
 * `k3j9x2-2`...). The counter (`seq`) is persisted with the outbox so a restored client never
 * reuses the id of a stored message, even with the same prefix.
 */
export class Calls {
  // `declare`d fields are set when known (the constructor, a welcome), not defined empty first.
  /** App messages and requests, in send order. */
  declare readonly outbox: Outbox;
  /** Joins, leaves and refreshes. */
  readonly controls = new Controls();
  /** The next id's counter. */
  seq = 1;
  /** The server's frame size limit (from `welcome`, or storage): larger frames are refused. */
  declare maxPayload: number | undefined;
  readonly #idPrefix: string;
  readonly #o: ResolvedOptions;
  readonly #protocol: AnyProtocol;
  readonly #h: CallsHandlers;

  /** Uses the client's `outbox`, `clock` and `random` options. */
  constructor(o: ResolvedOptions, protocol: AnyProtocol, handlers: CallsHandlers) {
    this.#o = o;
    this.#protocol = protocol;
    this.#h = handlers;
    this.outbox = new Outbox(o.outbox);
    this.#idPrefix = Math.floor(o.random() * 36 ** 8).toString(36);
  }

  /** Validate, queue and (when connected) send an app message or request (`send` of a request type is a request). */
  enqueue(asked: OutboxKind, type: string, data: unknown, timeoutMs: number | undefined): Promise<unknown> {
    const kind = asked === 'send' && this.#protocol.isRequest(type) ? 'request' : asked;
    return new Promise((resolve, reject) => {
      this.#h.assertOpen();
      const known = kind === 'send' ? this.#protocol.isClientMessage(type) : this.#protocol.isRequest(type);
      if (!known) throw new HoldfastError('UNKNOWN_MESSAGE_TYPE', `Unknown ${kind} type`);
      const v = this.#protocol.parseInbound(type, data);
      if (!v.ok) throw v.error;
      const frame = { t: 'pub', id: this.#nextId(), type, data } as const;
      const entry = outboxEntry(kind, frame, encodeOwnClientFrame(frame), false);
      entry.settle = { resolve, reject };
      const error = this.#tooBig(entry.bytes) ?? this.outbox.add(entry);
      if (error) throw error;
      if (timeoutMs !== undefined)
        entry.timer = this.#o.clock.setTimeout(() => this.#timeout(entry), timeoutMs);
      this.#h.persist();
      if (this.#h.connected()) this.#transmit(entry);
    });
  }

  /** Register a join/leave/refresh; write it now if connected (or if `now`, during a welcome). */
  control(frame: ControlFrame, now = this.#h.connected()): Promise<unknown> {
    this.#h.assertOpen();
    const id = this.#nextId();
    // Throws a ProtocolError when the frame is invalid (e.g. a room name with control characters).
    // `id` second: the keys in the schema's order, so the text is the one the schema would give.
    const { t, ...rest } = frame;
    const text = encodeOwnClientFrame({ t, id, ...rest } as ClientFrame);
    // A join's or leave's room (a refresh has none).
    const done = this.controls.add(id, text, (rest as { room?: string }).room);
    if (now) this.#h.send(text);
    return done;
  }

  /** The outbox as `pending()` shows it. */
  pending(): PendingMessage[] {
    return this.outbox.values().map(({ id, type, kind, state, data }) => ({ id, type, kind, state, data }));
  }

  /** A `res`: settle its control, or its outbox entry (a request's response validated first). */
  res(f: ResFrame): void {
    const outcome: Outcome = f.ok
      ? { ok: true, result: f.result }
      : {
          ok: false,
          error: HoldfastError.fromBody(f.error ?? { code: 'INTERNAL', message: 'Failed' }),
        };
    if (this.controls.settle(f.id, outcome)) return;
    const e = this.outbox.take(f.id);
    if (!e) return;
    this.#h.persist();
    if (outcome.ok && e.kind === 'request') {
      const v = this.#protocol.parseResponse(e.type, outcome.result);
      return this.#settle(e, v.ok ? { ok: true, result: v.value } : v);
    }
    this.#settle(e, outcome);
  }

  /**
   * An `error` frame. With code `UNAVAILABLE` and the id of an outbox message, the server
   * could not record that message (not handled, not answered): it is resent on this
   * connection after a backoff delay that grows with each refusal (`reconnect` options); a
   * reconnect meanwhile resends it anyway. Any other error goes to `report`.
   */
  error(f: Extract<ServerFrame, { t: 'error' }>, report: (error: HoldfastError) => void): void {
    const e = f.error.code === 'UNAVAILABLE' ? this.outbox.values().find((x) => x.id === f.id) : undefined;
    if (!e || f.id === undefined) return report(HoldfastError.fromBody(f.error));
    e.refusals = (e.refusals ?? 0) + 1;
    this.#o.clock.clearTimeout(e.retryTimer);
    e.retryTimer = this.#o.clock.setTimeout(
      () => {
        e.retryTimer = undefined;
        if (this.#h.connected() && this.outbox.values().includes(e)) this.#transmit(e);
      },
      backoffDelay(e.refusals, this.#o.reconnect, this.#o.random),
    );
  }

  /** After a welcome: (re)send every outbox entry in order, with its id; fail those now too big. */
  resend(): void {
    for (const e of this.outbox.values()) {
      const error = this.#tooBig(e.bytes);
      if (!error) this.#transmit(e);
      else {
        this.outbox.take(e.id);
        this.#settle(e, { ok: false, error });
      }
    }
  }

  /** Fail every message still in the outbox with `error` (they must not be sent on this session). */
  forsake(error: HoldfastError): void {
    this.#failAll(error);
    this.#h.persist();
  }

  /** The connection ended: outbox entries wait to be resent, its refreshes fail with `error`. */
  disconnected(error: HoldfastError): void {
    for (const e of this.outbox.values()) {
      e.state = 'queued';
      // The resend after the welcome replaces a pending retry.
      this.#o.clock.clearTimeout(e.retryTimer);
      e.retryTimer = undefined;
    }
    this.controls.reject(error);
  }

  /** The client stopped: everything pending fails with `error`; the outbox is emptied. */
  shutdown(error: HoldfastError): void {
    this.controls.reject(error, true);
    this.#failAll(error);
  }

  /** Empty the outbox, failing every entry with `error`. */
  #failAll(error: HoldfastError): void {
    for (const e of this.outbox.clear()) this.#settle(e, { ok: false, error });
  }

  #transmit(e: OutboxEntry): void {
    if (this.#h.send(e.text)) {
      e.state = 'sent';
      e.written = true;
    }
  }

  #timeout(e: OutboxEntry): void {
    // Written messages stay: the server may have handled them, and resending keeps it once.
    if (!e.written) {
      this.outbox.take(e.id);
      this.#h.persist();
    }
    e.settle?.reject(new HoldfastError('TIMEOUT', `No answer to "${e.type}" in time`));
    e.settle = undefined;
  }

  /** Report the outcome of an entry taken out of the outbox to its caller, and to `ack` listeners. */
  #settle(e: OutboxEntry, outcome: Outcome) {
    this.#o.clock.clearTimeout(e.timer);
    this.#o.clock.clearTimeout(e.retryTimer);
    settle(e.settle, outcome);
    e.settle = undefined;
    this.#h.ack({ id: e.id, type: e.type, ...outcome } as AckEvent);
  }

  #nextId(): string {
    return `${this.#idPrefix}-${(this.seq++).toString(36)}`;
  }

  /** A `MESSAGE_TOO_BIG` error when a frame of `bytes` is over the server's limit. */
  #tooBig(bytes: number): HoldfastError | undefined {
    const maxPayload = this.maxPayload;
    // No limit known yet (undefined): `bytes > undefined` is false.
    if (bytes > (maxPayload as number)) {
      return new HoldfastError('MESSAGE_TOO_BIG', 'Message larger than the server accepts', {
        details: { bytes, maxPayload },
      });
    }
  }
}
