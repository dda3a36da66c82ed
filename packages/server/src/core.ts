/**
 * The context every component of one server shares: resolved options, the injected clock and
 * ids, the engine, counters, events, error reporting and tracked async work. One per server.
 */
import type { AnyProtocol } from '@holdfast/protocol';
import { EventEmitter } from 'eventemitter3';
import type { ServerEvents, ServerHooks } from './api.js';
import { type Clock, smallInt } from './clock.js';
import type { Engine } from './engine.js';
import type { IdSource } from './ids.js';
import type { Logger, ResolvedOptions } from './options.js';
import { type Counters, newCounters } from './stats.js';

/** The shared context of one server's components. */
export class Core<P extends AnyProtocol> {
  readonly opts: ResolvedOptions<P>;
  readonly protocol: P;
  readonly engine: Engine;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly log: Logger;
  readonly limits: ResolvedOptions<P>['limits'];
  readonly counters: Counters = newCounters();
  readonly emitter = new EventEmitter<ServerEvents>();
  readonly startedAt: number;
  /**
   * Connections keep their times (connected, last seen, next ping, closing, rate bucket) as
   * milliseconds since `t0`: small integers, where epoch milliseconds would be a 16-byte heap
   * number each. `info()` adds it back.
   */
  readonly t0: number;
  /** Async work (handlers, hellos, joins, replays) that `close()` waits for. */
  readonly running = new Set<Promise<unknown>>();
  /** Attached instruments (`instrument()`); undefined while none is, so nothing is measured. */
  hooks: ServerHooks[] | undefined;
  /** Set by `close()`: take no new work. */
  draining = false;
  /** Set by `close()`: refuse new upgrades. */
  closing: Promise<void> | undefined;
  /**
   * The optional extensions of v1 this server announces in `welcome` (docs/PROTOCOL.md §10):
   * `appends` when the engine has `appendPart` and `openMessages`, `rewind` when it has
   * `rewindPoint`.
   */
  readonly extensions: readonly string[];
  /** Resolves when the engine is started and the port listens (set once by the server). */
  started: Promise<void> = Promise.resolve();

  constructor(opts: ResolvedOptions<P>, engine: Engine) {
    this.opts = opts;
    this.protocol = opts.protocol;
    this.engine = engine;
    this.clock = opts.clock;
    this.ids = opts.ids;
    this.log = opts.log;
    this.limits = opts.limits;
    this.startedAt = this.clock.now();
    this.t0 = this.startedAt - 1;
    const ext: string[] = [];
    if (engine.appendPart && engine.openMessages) ext.push('appends');
    if (engine.rewindPoint) ext.push('rewind');
    this.extensions = ext;
  }

  /** Now, in milliseconds since `t0`. */
  rel(): number {
    return smallInt(this.clock.now() - this.t0);
  }

  /** Emit an event; a throwing listener is logged, never propagated. */
  emit<E extends keyof ServerEvents>(event: E, ...args: Parameters<ServerEvents[E]>): void {
    try {
      (this.emitter.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'event listener threw');
      if (this.opts.errorsToConsole) console.error('holdfast: a server event listener threw', err);
    }
  }

  /**
   * Something failed that the server survives: log it and emit `error`. With neither a logger
   * nor an `error` listener it goes to `console.error`, so it is never silent.
   */
  fail(
    error: unknown,
    where: string,
    ids: { connectionId?: string; sessionId?: string; user?: string; type?: string } = {},
  ): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log.error({ err, where, ...ids }, 'holdfast error');
    if (this.emitter.listenerCount('error') > 0) this.emit('error', err, { where, ...ids });
    else if (this.opts.errorsToConsole) console.error(`holdfast: ${where} failed`, ids, err);
  }

  /** Keep track of async work so close() can wait for it; log anything that escapes. Returns the tracked promise (never rejects). */
  track(p: Promise<unknown>): Promise<void> {
    const tracked = p.then(
      () => undefined,
      (err) => this.fail(err, 'async'),
    );
    this.running.add(tracked);
    tracked.finally(() => this.running.delete(tracked));
    return tracked;
  }
}
