/**
 * Client messages and requests (`pub`): deduplicated by id, validated, run by their handler
 * (or put in the session's inbox), answered with `res` exactly once per id.
 */
import { type AnyProtocol, ENGLISH_MESSAGES, ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { Handler, HandlerContext, InboundType, ServerApi } from './api.js';
import type { SessionConnection } from './connection.js';
import type { Core } from './core.js';
import { ServerOptionsError } from './options.js';
import type { Outbound } from './outbound.js';
import type { Sessions } from './sessions.js';
import { notRecordedFrame, resError, resOk } from './wire.js';

/** Client messages of one server. */
export class Dispatch<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly out: Outbound<P>;
  private readonly sessions: Sessions<P>;
  private readonly api: ServerApi<P>;
  private readonly handlers = new Map<string, Handler<any>>();
  /** Messages being handled asynchronously, by session and id (a resend waits for the first). */
  private readonly inflight = new Map<string, { promise: Promise<string> }>();

  constructor(core: Core<P>, out: Outbound<P>, sessions: Sessions<P>, api: ServerApi<P>) {
    this.core = core;
    this.out = out;
    this.sessions = sessions;
    this.api = api;
  }

  /** How many messages are being handled asynchronously. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Register a handler.
   * @throws {ServerOptionsError} for a type that is not inbound, or a second handler of one type
   */
  handle<K extends InboundType<P>>(type: K, handler: Handler<P, K>): void {
    const protocol = this.core.protocol;
    if (!protocol.isClientMessage(type) && !protocol.isRequest(type)) {
      throw new ServerOptionsError(
        'NOT_INBOUND_TYPE',
        `"${type}" is not a client message or request of the protocol`,
      );
    }
    if (this.handlers.has(type)) {
      throw new ServerOptionsError('DUPLICATE_HANDLER', `"${type}" already has a handler`);
    }
    this.handlers.set(type, handler as Handler<any>);
  }

  /**
   * A client message or request: deduplicated by id, validated, handled, answered with `res`.
   * With an engine that answers at once (`handledSync`) and a handler that returns a value
   * (not a promise), the whole round trip is synchronous: no promise per request.
   */
  onPub(conn: SessionConnection, id: string, type: string, data: unknown): void {
    const hooks = this.core.hooks;
    if (!hooks) {
      this.pub(conn, id, type, data);
      return;
    }
    // Instruments attached: report the round trip from `pub` to `res` (types outside the protocol as one label).
    const start = performance.now();
    const protocol = this.core.protocol;
    const label = protocol.isClientMessage(type) || protocol.isRequest(type) ? type : '(unknown)';
    const report = () => {
      for (const h of hooks) h.request?.(label, performance.now() - start);
    };
    const pending = this.pub(conn, id, type, data);
    if (pending) pending.then(report, report);
    else report();
  }

  /** `onPub`; returns the tracked work when the answer is not sent at once. */
  private pub(conn: SessionConnection, id: string, type: string, data: unknown): Promise<void> | void {
    const { core, out } = this;
    const sessionId = conn.sessionId;
    const sync = core.engine.handledSync;
    if (sync && (this.inflight.size === 0 || !this.inflight.has(`${sessionId}\u0000${id}`))) {
      let res: string | Promise<string>;
      try {
        const stored = sync.get(sessionId, id);
        if (stored !== undefined) {
          core.counters.duplicates += 1;
          return void out.send(conn, stored || notKept(id));
        }
        res = this.runHandler(conn, id, type, data);
        if (typeof res === 'string') {
          sync.put(sessionId, id, res, core.limits.dedupeSize, core.limits.dedupeBytes);
          return void out.send(conn, res);
        }
      } catch (err) {
        return this.notRecorded(conn, id, err);
      }
      // The handler is asynchronous: track it like any other.
      return core.track(this.pubAsync(conn, id, res));
    }
    return core.track(this.pubAsync(conn, id, type, data));
  }

  /**
   * `onPub` when something must be awaited: the handler (`running`) or the engine. The `res`
   * goes to the connection the `pub` arrived on, if still open (one `res` per `pub` frame: a
   * resend on a newer connection gets its own).
   */
  private async pubAsync(
    conn: SessionConnection,
    id: string,
    ...work: [running: Promise<string>] | [type: string, data: unknown]
  ): Promise<void> {
    const { core, out } = this;
    const { sessionId } = conn;
    const key = `${sessionId}\u0000${id}`;
    const running = this.inflight.get(key);
    if (running) {
      core.counters.duplicates += 1;
      try {
        out.send(conn, (await running.promise) || notKept(id));
      } catch {
        // The first run reports the failure (and answers on its own connection).
        out.send(conn, notRecordedFrame(id));
      }
      return;
    }
    const promise = (async () => {
      if (work.length === 1) {
        const res = await work[0];
        await this.putHandled(sessionId, id, res);
        return res;
      }
      const stored = await core.engine.getHandled(sessionId, id);
      if (stored !== undefined) {
        core.counters.duplicates += 1;
        return stored || notKept(id);
      }
      const res = await this.runHandler(conn, id, work[0], work[1]);
      await this.putHandled(sessionId, id, res);
      return res;
    })();
    this.inflight.set(key, { promise });
    try {
      out.send(conn, await promise);
    } catch (err) {
      this.notRecorded(conn, id, err);
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Record a handled message; an answer over the session's budget is stored as not kept (`''`). */
  private putHandled(sessionId: string, id: string, res: string): Promise<void> {
    const { dedupeSize, dedupeBytes } = this.core.limits;
    const kept = res.length > dedupeBytes ? '' : res;
    return this.core.engine.putHandled(sessionId, id, kept, dedupeSize, dedupeBytes);
  }

  /** The handled-record could not be stored: do not ack, the client will resend. */
  private notRecorded(conn: SessionConnection, id: string, err: unknown): void {
    this.core.counters.engineErrors += 1;
    this.core.fail(err, 'pub', { sessionId: conn.sessionId });
    this.out.send(conn, notRecordedFrame(id));
  }

  /** Validate and run a handler; its `res` frame, synchronously when the handler returned a value. */
  private runHandler(
    conn: SessionConnection,
    id: string,
    type: string,
    data: unknown,
  ): string | Promise<string> {
    const { core } = this;
    const { sessionId, user } = conn;
    // English issues whatever the app's zod flavour: they go on the wire.
    const parsed = core.protocol.parseInbound(type, data, ENGLISH_MESSAGES);
    if (!parsed.ok) {
      core.log.debug({ type, sessionId, user, messageId: id, code: parsed.error.code }, 'message refused');
      return resError(id, parsed.error);
    }
    const handler = this.handlers.get(type);
    if (!handler) {
      const inbox = this.sessions.inboxes.get(sessionId);
      if (inbox) {
        return inbox.put({ id, type, data: parsed.value, sessionId, user }).then(() => resOk(id));
      }
      core.log.warn({ type, sessionId, user, messageId: id }, 'no handler for this message type');
      return resError(id, new HoldfastError(ErrorCode.NoHandler, `No handler for "${type}"`));
    }
    const ctx: HandlerContext<P> = {
      server: this.api,
      sessionId,
      user,
      connectionId: conn.id,
      messageId: id,
      data: conn.data,
    };
    core.counters.messagesIn += 1;
    const start = core.hooks ? performance.now() : 0;
    let result: unknown;
    try {
      result = handler(parsed.value, ctx);
    } catch (err) {
      return this.handlerFailed(ctx, type, err, start);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.handlerDone(ctx, type, value, start),
        (err) => this.handlerFailed(ctx, type, err, start),
      );
    }
    return this.handlerDone(ctx, type, result, start);
  }

  /**
   * A handler threw: a `HoldfastError` is its answer (logged at debug), anything else a
   * failure (logged at error with the type, session and user, and emitted as `error`).
   */
  private handlerFailed(ctx: HandlerContext<P>, type: string, err: unknown, start: number): string {
    const { core } = this;
    const { messageId: id, sessionId, user } = ctx;
    core.counters.handlerErrors += 1;
    this.timed(type, start, false);
    if (err instanceof HoldfastError) {
      core.log.debug({ type, sessionId, user, messageId: id, code: err.code }, 'handler refused the message');
      return resError(id, err);
    }
    core.fail(err, 'handler', { sessionId, user, type });
    return resError(id, new HoldfastError(ErrorCode.HandlerError, `Handler for "${type}" failed`));
  }

  /** The `res` of a handler's result (a request's response is checked against its schema). */
  private handlerDone(ctx: HandlerContext<P>, type: string, result: unknown, start: number): string {
    const protocol = this.core.protocol;
    const { messageId: id, sessionId, user } = ctx;
    if (protocol.isRequest(type)) {
      const checked = protocol.parseResponse(type, result, ENGLISH_MESSAGES);
      if (!checked.ok) {
        this.timed(type, start, false);
        const message = `Handler for "${type}" returned an invalid response`;
        this.core.fail(new Error(message), 'handler', { sessionId, user, type });
        return resError(id, new HoldfastError(ErrorCode.HandlerError, message));
      }
    }
    this.timed(type, start, true);
    return resOk(id, result);
  }

  /** Report a handler's duration to the instruments (none attached: nothing to do). */
  private timed(type: string, start: number, ok: boolean): void {
    const hooks = this.core.hooks;
    if (!hooks || start === 0) return; // none attached when the handler started
    const ms = performance.now() - start;
    for (const h of hooks) h.handler?.(type, ms, ok);
  }
}

/** The answer to a resend of a handled message whose answer was not kept. */
function notKept(id: string): string {
  return resError(
    id,
    new HoldfastError(ErrorCode.AnswerNotKept, 'Handled; the answer was too large to keep for a resend'),
  );
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
