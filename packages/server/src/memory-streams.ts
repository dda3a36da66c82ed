/**
 * The streams of the in-memory engine: logs per stream, epochs (retired streams restart in a
 * new one), retention per stream kind, appends to growing messages (docs/PROTOCOL.md §10).
 */
import { ErrorCode, encodeAppFrame, encodeMsgFrame, HoldfastError } from '@holdfast/protocol';
import { type Clock, systemClock } from './clock.js';
import {
  type Engine,
  type Except,
  type ReadResult,
  type ResolvedRetention,
  type RetentionOptions,
  resolveRetention,
  retentionOf,
  type StreamHead,
} from './engine.js';
import { StreamLog } from './stream-log.js';

/** The listeners an engine is started with. */
export type Listeners = Parameters<Engine['start']>[0];

/** Options of `MemoryEngine`. */
export interface MemoryEngineOptions {
  /** Stream retention bounds (base, and per stream kind). */
  retention?: RetentionOptions;
  /** Clock for ages and expiry. @default the system clock */
  clock?: Clock;
  /**
   * Epoch prefix of this engine's streams. A new process gets a new epoch, so clients
   * resuming after a restart are told their history was lost.
   * @default a random string
   */
  epoch?: string;
  /** Random numbers in [0, 1), for the epoch prefix. @default Math.random */
  random?: () => number;
}

/** Retired streams remembered by their epoch, at most (see `MemoryEngine.retire`). */
const MAX_RETIRED = 10_000;

/** The stream half of `MemoryEngine` (its base class). */
export abstract class MemoryStreams {
  protected readonly retention: ResolvedRetention;
  protected readonly clock: Clock;
  private readonly epochPrefix: string;
  private epochCounter = 0;
  protected listeners: Listeners | undefined;
  protected readonly streams = new Map<string, StreamLog>();

  constructor(options: MemoryEngineOptions) {
    this.retention = resolveRetention(options.retention);
    this.clock = options.clock ?? systemClock;
    this.epochPrefix = options.epoch ?? (options.random ?? Math.random)().toString(36).slice(2, 10);
    this.baseEpoch = `${this.epochPrefix}0`;
  }

  /**
   * The epoch of every stream without a log that is not retired: one string shared by all of
   * them. Moves on when too many streams are retired (see `retire`).
   */
  private baseEpoch: string;

  /**
   * Streams with subscribers on this node (their empty logs are kept: see `sweep`), kept here
   * only when the server does not answer `watching` itself: a second set of every session's
   * streams cost about 65 bytes per connection.
   */
  private readonly watched = new Set<string>();

  watch(stream: string): void {
    if (!this.listeners?.watching) this.watched.add(stream);
  }

  unwatch(stream: string): void {
    this.watched.delete(stream);
  }

  private isWatched(stream: string): boolean {
    const watching = this.listeners?.watching;
    return watching ? watching(stream) : this.watched.has(stream);
  }

  /** Epochs of streams whose history was deliberately lost (`forget`): they restart in a new epoch. */
  private readonly retired = new Map<string, string>();

  /** The epoch a stream has, or will have when its first message is appended. */
  private epochOf(stream: string): string {
    return this.retired.size === 0 ? this.baseEpoch : (this.retired.get(stream) ?? this.baseEpoch);
  }

  /** The stream's log, created on its first append (reads and heads never create one). */
  private log(stream: string): StreamLog {
    let log = this.streams.get(stream);
    if (!log) {
      log = new StreamLog(this.epochOf(stream));
      this.streams.set(stream, log);
    }
    return log;
  }

  async append(
    stream: string,
    body: string,
    except?: Except,
    options?: { open?: boolean },
  ): Promise<{ epoch: string; offset: number }> {
    const log = this.log(stream);
    const r = retentionOf(this.retention, stream);
    const frame = encodeMsgFrame(stream, log.epoch, log.offset + 1, body);
    const message = log.append(frame, except, this.clock.now(), r.maxMessages, r.maxBytes, options?.open);
    // An open message's entry changes with its appends: live delivery (which the server may hold
    // during a replay) gets the frame as appended, not the entry.
    this.listeners?.message(
      stream,
      log.epoch,
      options?.open ? { offset: message.offset, frame, except } : message,
    );
    return { epoch: log.epoch, offset: message.offset };
  }

  async appendPart(
    stream: string,
    start: number,
    body: string,
    options: { end?: boolean; snapshot?: string; epoch?: string } = {},
  ): Promise<{ epoch: string; offset: number }> {
    const log = this.streams.get(stream);
    if (!log || (options.epoch !== undefined && options.epoch !== log.epoch) || !log.openEntry(start)) {
      throw new HoldfastError(
        ErrorCode.MessageClosed,
        `Message ${start} of ${stream.slice(0, 64)} is not open (ended, dropped by retention, or its epoch changed)`,
      );
    }
    const r = retentionOf(this.retention, stream);
    const k = log.offset + 1;
    const frame = encodeAppFrame(stream, log.epoch, k, body);
    const snapshot =
      options.snapshot === undefined
        ? undefined
        : encodeMsgFrame(stream, log.epoch, k, `"start":${start},${options.snapshot}`);
    const except = log.appendPart(
      start,
      frame,
      snapshot,
      options.end === true,
      this.clock.now(),
      r.maxMessages,
      r.maxBytes,
    );
    this.listeners?.message(stream, log.epoch, { offset: k, frame, except });
    return { epoch: log.epoch, offset: k };
  }

  async openMessages(stream: string, upTo: number): Promise<ReadResult> {
    const log = this.streams.get(stream);
    if (!log) return { epoch: this.epochOf(stream), offset: 0, first: 1, messages: [] };
    this.trim(stream, log);
    return { epoch: log.epoch, offset: log.offset, first: log.first, messages: log.openUpTo(upTo) };
  }

  async rewindPoint(
    stream: string,
    count: number,
    since?: number,
  ): Promise<{ epoch: string; offset: number; count: number }> {
    const log = this.streams.get(stream);
    if (!log) return { epoch: this.epochOf(stream), offset: 0, count: 0 };
    this.trim(stream, log);
    return { epoch: log.epoch, ...log.rewindPoint(count, since ?? Number.NEGATIVE_INFINITY) };
  }

  /** Drop a log's entries past their age. */
  private trim(stream: string, log: StreamLog): void {
    log.trimAge(this.clock.now() - retentionOf(this.retention, stream).maxAgeMs);
  }

  async publishVolatile(stream: string, frame: string, except?: Except): Promise<void> {
    this.listeners?.volatile(stream, frame, except);
  }

  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const log = this.streams.get(stream);
    if (!log) return { epoch: this.epochOf(stream), offset: 0, first: 1, messages: [] };
    this.trim(stream, log);
    return { epoch: log.epoch, offset: log.offset, first: log.first, messages: log.read(after, limit) };
  }

  async head(stream: string): Promise<StreamHead> {
    const log = this.streams.get(stream);
    if (!log) return { epoch: this.epochOf(stream), offset: 0, first: 1 };
    return { epoch: log.epoch, offset: log.offset, first: log.first };
  }

  /**
   * Lose a stream's history, as a flushed store would: the next append starts a new epoch at
   * offset 1, and connected or resuming clients are told of the gap. For tests and drills.
   */
  forget(stream: string): void {
    this.streams.delete(stream);
    this.retire(stream);
  }

  /** The stream restarts in a new epoch; past `MAX_RETIRED` names, all logless streams do together. */
  private retire(stream: string): void {
    this.epochCounter += 1;
    const epoch = `${this.epochPrefix}${this.epochCounter.toString(36)}`;
    if (this.retired.size >= MAX_RETIRED) {
      this.retired.clear();
      this.baseEpoch = epoch;
      return;
    }
    this.retired.set(stream, epoch);
  }

  /**
   * Drop messages past their age (called by the server's sweep). A log left empty (nothing
   * appended for `maxAgeMs`) with no subscriber here is dropped: the stream restarts in a new
   * epoch if it is used again. So idle streams (rooms published to once) cost nothing forever.
   */
  sweep(): void {
    for (const [stream, log] of this.streams) {
      this.trim(stream, log);
      if (log.size === 0 && !this.isWatched(stream)) {
        this.streams.delete(stream);
        this.retire(stream);
      }
    }
  }
}
