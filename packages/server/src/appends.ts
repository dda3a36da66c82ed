/**
 * Extension `appends` (docs/PROTOCOL.md §10) on the app's side: growing messages
 * (`startMessage` and its {@link MessageWriter}, with the compaction policy) and the
 * server-side read of a stream's retained history (`history`).
 */
import {
  type AnyProtocol,
  ErrorCode,
  encodeAppBody,
  encodeMsgBody,
  HoldfastError,
  Streams,
} from '@holdfast/protocol';
import type { History, HistoryMessage, HistoryOptions, MessageTarget, MessageWriter } from './api.js';
import type { Core } from './core.js';
import type { Engine, Except, StoredMessage } from './engine.js';
import { normalizeExcept } from './except.js';

/** Pending parts since the last snapshot, in bytes, that always warrant a new snapshot. */
const SNAPSHOT_MIN_BYTES = 4096;
/** Entries read from the engine per call by `history`. */
const PAGE = 500;

/** The stream of a target. */
export function streamOf(to: MessageTarget): string {
  if ('room' in to) return Streams.room(to.room);
  if ('session' in to) return Streams.session(to.session);
  if ('user' in to) return Streams.user(to.user);
  return Streams.broadcast;
}

/** The engine's `appendPart`, present (checked by `startMessage`). */
type AppendPart = NonNullable<Engine['appendPart']>;

/**
 * One growing message. The value is folded at each call (so `value` is current at once); the
 * engine writes are chained so they keep the calls' order. Compaction: a snapshot goes with an
 * append when the bytes of parts since the last one reach max(4 KiB, the snapshot's bytes),
 * and always with the end, so the store gets O(text) bytes in total, however many deltas.
 */
class Writer implements MessageWriter<unknown, unknown> {
  readonly stream: string;
  readonly epoch: string;
  readonly start: number;
  value: unknown;
  done = false;
  private readonly core: Core<AnyProtocol>;
  private readonly appendPart: AppendPart;
  private readonly type: string;
  private readonly ts: number;
  private tail: Promise<unknown> = Promise.resolve();
  private failed: unknown;
  /** Bytes of parts since the last snapshot. */
  private pending = 0;
  /** Bytes of the last snapshot (the start's body at first). */
  private snapshotBytes: number;

  constructor(
    core: Core<AnyProtocol>,
    appendPart: AppendPart,
    at: { stream: string; epoch: string; start: number },
    type: string,
    value: unknown,
    ts: number,
    startBytes: number,
  ) {
    this.core = core;
    this.appendPart = appendPart;
    this.stream = at.stream;
    this.epoch = at.epoch;
    this.start = at.start;
    this.type = type;
    this.value = value;
    this.ts = ts;
    this.snapshotBytes = startBytes;
  }

  append(delta: unknown): Promise<{ offset: number }> {
    return this.push(delta, false);
  }

  end(delta?: unknown): Promise<{ offset: number }> {
    return this.push(delta, true);
  }

  private push(delta: unknown, end: boolean): Promise<{ offset: number }> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.done) {
      return Promise.reject(
        new HoldfastError(ErrorCode.MessageClosed, `Message ${this.start} of ${this.stream} has ended`),
      );
    }
    const { protocol } = this.core;
    if (delta !== undefined || !end) {
      const checked = protocol.parseDelta(this.type, delta);
      if (!checked.ok) return Promise.reject(checked.error);
      this.value = protocol.fold(this.type, this.value, checked.value);
    }
    if (end) this.done = true;
    const body = encodeAppBody(this.start, delta, end);
    this.pending += body.length;
    let snapshot: string | undefined;
    if (end || this.pending >= Math.max(SNAPSHOT_MIN_BYTES, this.snapshotBytes)) {
      snapshot = encodeMsgBody(this.type, this.value, this.ts) + (end ? '' : ',"open":true');
      this.snapshotBytes = snapshot.length;
      this.pending = 0;
    }
    const options = { end, epoch: this.epoch, ...(snapshot !== undefined ? { snapshot } : {}) };
    const written = this.tail
      .then(() => {
        if (this.failed !== undefined) throw this.failed;
        return this.appendPart.call(this.core.engine, this.stream, this.start, body, options);
      })
      .then(
        (r) => ({ offset: r.offset }),
        (err: unknown) => {
          // Later deltas would fold onto a value the store does not have: the writer stops.
          this.failed ??= err;
          this.done = true;
          throw err;
        },
      );
    this.tail = written.catch(() => undefined);
    return written;
  }
}

/** Growing messages and history reads of one server. */
export class Appends<P extends AnyProtocol> {
  private readonly core: Core<P>;

  constructor(core: Core<P>) {
    this.core = core;
  }

  /** See `HoldfastServer.startMessage`. */
  async start(
    to: MessageTarget,
    type: string,
    initial: unknown,
    options: { except?: Except } = {},
  ): Promise<MessageWriter<unknown, unknown>> {
    const { core } = this;
    const { engine, protocol } = core;
    if (!protocol.isAppendable(type)) {
      throw new HoldfastError(
        ErrorCode.ValidationFailed,
        `"${type.slice(0, 64)}" is not an appendable message type (declare it in defineProtocol's appends)`,
      );
    }
    if (!engine.appendPart) {
      throw new HoldfastError(ErrorCode.Internal, 'The engine does not support appends (no appendPart)');
    }
    const checked = protocol.parseServer(type, initial);
    if (!checked.ok) throw checked.error;
    const stream = streamOf(to);
    const ts = core.clock.now();
    const body = `${encodeMsgBody(type, initial, ts)},"open":true`;
    try {
      const at = await engine.append(stream, body, normalizeExcept(options.except), { open: true });
      core.counters.published += 1;
      const where = { stream, epoch: at.epoch, start: at.offset };
      return new Writer(
        core as unknown as Core<AnyProtocol>,
        engine.appendPart,
        where,
        type,
        checked.value,
        ts,
        body.length,
      );
    } catch (err) {
      core.counters.engineErrors += 1;
      throw err;
    }
  }

  /** See `HoldfastServer.history`. */
  async history(to: MessageTarget, options: HistoryOptions = {}): Promise<History> {
    const { engine, clock } = this.core;
    const { count, ageMs, after } = options;
    const positive = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 1);
    if (
      !positive(count) ||
      !positive(ageMs) ||
      !(after === undefined || (Number.isInteger(after) && after >= 0))
    ) {
      throw new HoldfastError(
        ErrorCode.ValidationFailed,
        'history: count and ageMs >= 1, after >= 0 (integers)',
      );
    }
    const stream = streamOf(to);
    let from = after ?? 0;
    if ((count !== undefined || ageMs !== undefined) && engine.rewindPoint) {
      const since = ageMs === undefined ? undefined : clock.now() - ageMs;
      const point = await engine.rewindPoint(stream, count ?? Number.MAX_SAFE_INTEGER, since);
      from = Math.max(from, point.offset);
    }
    const messages: HistoryMessage[] = [];
    let page = await engine.read(stream, from, PAGE);
    const { epoch, offset, first } = page;
    for (;;) {
      for (const m of page.messages) messages.push(this.fold(m));
      if (page.messages.length < PAGE) break;
      page = await engine.read(stream, page.messages[page.messages.length - 1]!.offset, PAGE);
      if (page.epoch !== epoch) break;
    }
    return { stream, epoch, offset, first, messages };
  }

  /** One entry as the app sees it: a growing message's snapshot with its pending parts folded in. */
  private fold(m: StoredMessage): HistoryMessage {
    const msg = JSON.parse(m.frame) as {
      offset: number;
      start?: number;
      type: string;
      data?: unknown;
      ts: number;
      open?: boolean;
    };
    let data = msg.data;
    let open = msg.open === true;
    for (const part of m.parts ?? []) {
      const app = JSON.parse(part) as { data?: unknown; end?: boolean };
      if (app.data !== undefined) data = this.core.protocol.fold(msg.type, data, app.data);
      if (app.end) open = false;
    }
    return { offset: m.offset, start: msg.start ?? msg.offset, type: msg.type, data, open, ts: msg.ts };
  }
}
