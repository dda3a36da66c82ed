import {
  type Except,
  type ReadResult,
  type ResolvedRetention,
  type RetentionBounds,
  retentionOf,
  type StoredMessage,
  type StreamHead,
} from '@holdfast/server';
import type { Link } from './link.js';
import { decodeExcept, encodeExcept, encodeVolatile } from './payload.js';
import { pairs } from './session-record.js';
import { APPEND, APPEND_PART, OPEN_MESSAGES, READ, REWIND_POINT } from './stream-scripts.js';

/** Extra lifetime of a growing message's keys past the stream's retention age (clock skew). */
const GROWING_TTL_SLACK_MS = 60_000;
/** Longest TTL given to a key (about 1,100 years: "no age limit" still expires). */
const MAX_TTL_MS = 2 ** 45;

/** A stream read as the scripts return it: epoch, last offset, first, entries. */
type RawRead = [string, number, number, RawEntry[]];
/** One entry: id `<position>-0`, its log fields, snapshot ('' for a plain message), parts. */
type RawEntry = [string, string[], string, string[]];

/**
 * Streams in Redis: per Holdfast stream, a Redis Stream with one entry per retained message
 * (id `<position>-0`), a meta hash holding its epoch and next offset, and for growing messages
 * (extension `appends`) a hash of snapshots, a list of pending `app` frames per message and a
 * sorted set of the open ones (layout in stream-scripts.ts). Each operation is one script:
 * appending stores the frame, trims by count, bytes and age (per stream kind) and publishes
 * the frame once on the stream's channel. A stream that lost its history (flush, idle expiry)
 * gets a new epoch on its next use.
 */
export class StreamStore {
  private epochSeq = 0;

  constructor(
    private readonly link: Link,
    private readonly retention: ResolvedRetention,
    private readonly idleTtlMs: number,
    /** Random prefix of the epochs this node creates (unique per engine instance). */
    private readonly epochBase: string,
  ) {}

  private newEpoch(): string {
    this.epochSeq += 1;
    return `${this.epochBase}${this.epochSeq.toString(36)}`;
  }

  private bounds(stream: string): Required<RetentionBounds> {
    return retentionOf(this.retention, stream);
  }

  private streamArgs(r: Required<RetentionBounds>, now: number): [number, number, number] {
    return [r.maxMessages, r.maxBytes, now - r.maxAgeMs];
  }

  /**
   * Lifetime of a growing message's keys, renewed on each of its writes: an entry is dropped
   * by age `maxAgeMs` after its position was written, so they outlive it.
   */
  private growingTtl(r: Required<RetentionBounds>): number {
    return Math.min(Math.max(this.idleTtlMs, r.maxAgeMs) + GROWING_TTL_SLACK_MS, MAX_TTL_MS);
  }

  /** Append one message: assigns the offset, stores the frame, trims and publishes it. */
  async append(
    stream: string,
    body: string,
    except?: Except,
    open = false,
  ): Promise<{ epoch: string; offset: number }> {
    const { link } = this;
    const { keys } = link;
    const now = link.clock.now();
    const r = this.bounds(stream);
    const [epoch, offset] = await link.run<[string, number]>(
      APPEND,
      [
        keys.streamMeta(stream),
        keys.streamLog(stream),
        keys.streamChannel(stream),
        keys.streamGrowing(stream),
        keys.streamOpen(stream),
      ],
      [
        this.newEpoch(),
        JSON.stringify(stream),
        body,
        encodeExcept(except),
        now,
        ...this.streamArgs(r, now),
        this.idleTtlMs,
        link.sharded ? '1' : '0',
        open ? '1' : '0',
        this.growingTtl(r),
      ],
    );
    return { epoch, offset: Number(offset) };
  }

  /**
   * Append one `app` to open message `start`: next offset, frame built, entry moved, snapshot
   * replacing its parts when given, published like `append`. Undefined when the message is not
   * open in the stream's current epoch (or in `epoch`, when given).
   */
  async appendPart(
    stream: string,
    start: number,
    body: string,
    options: { end?: boolean; snapshot?: string; epoch?: string },
  ): Promise<{ epoch: string; offset: number } | undefined> {
    const { link } = this;
    const { keys } = link;
    const now = link.clock.now();
    const r = this.bounds(stream);
    const result = await link.run<[number, string, number?]>(
      APPEND_PART,
      [
        keys.streamMeta(stream),
        keys.streamLog(stream),
        keys.streamChannel(stream),
        keys.streamGrowing(stream),
        keys.streamOpen(stream),
        keys.streamParts(stream, start),
      ],
      [
        JSON.stringify(stream),
        start,
        body,
        options.end ? '1' : '0',
        options.snapshot !== undefined ? '1' : '0',
        options.snapshot ?? '',
        now,
        ...this.streamArgs(r, now),
        this.idleTtlMs,
        this.growingTtl(r),
        link.sharded ? '1' : '0',
        options.epoch ?? '',
      ],
    );
    if (Number(result[0]) !== 1) return undefined;
    return { epoch: result[1], offset: Number(result[2]) };
  }

  /** Publish a volatile frame on the stream's channel (never stored). */
  async publishVolatile(stream: string, frame: string, except?: Except): Promise<void> {
    await this.link.publish(this.link.keys.streamChannel(stream), encodeVolatile(frame, except));
  }

  /** Arguments every reading script starts with (it trims by age and renews the idle expiry). */
  private readArgs(stream: string): (string | number)[] {
    const now = this.link.clock.now();
    return [this.newEpoch(), now, ...this.streamArgs(this.bounds(stream), now), this.idleTtlMs];
  }

  /**
   * Retained entries whose position is > `after` (at most `limit`; 0 reads only the head). Also
   * trims by age and renews the stream's idle expiry, creating its epoch if it has none.
   */
  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const { link } = this;
    const raw = await link.run<RawRead>(READ, link.keys.streamKeys(stream), [
      ...this.readArgs(stream),
      after,
      limit,
    ]);
    return decodeRead(raw);
  }

  /** Retained open messages at positions <= `upTo`, in position order. */
  async openMessages(stream: string, upTo: number): Promise<ReadResult> {
    const { link } = this;
    const raw = await link.run<RawRead>(OPEN_MESSAGES, link.keys.streamKeys(stream), [
      ...this.readArgs(stream),
      upTo,
    ]);
    return decodeRead(raw);
  }

  /** Where a rewind of `count` entries (written at or after `since`) starts (§10.5). */
  async rewindPoint(
    stream: string,
    count: number,
    since?: number,
  ): Promise<{ epoch: string; offset: number; count: number }> {
    const { link } = this;
    const [epoch, offset, n] = await link.run<[string, number, number]>(
      REWIND_POINT,
      link.keys.streamKeys(stream),
      [...this.readArgs(stream), Math.max(0, Math.floor(count)), since ?? ''],
    );
    return { epoch, offset: Number(offset), count: Number(n) };
  }

  /** Where a stream stands (creating its epoch if it has none). */
  async head(stream: string): Promise<StreamHead> {
    const { epoch, offset, first } = await this.read(stream, 0, 0);
    return { epoch, offset, first };
  }
}

function decodeRead([epoch, offset, first, entries]: RawRead): ReadResult {
  const messages = entries.map(([id, fields, snapshot, parts]): StoredMessage => {
    const f = pairs(fields);
    const position = Number.parseInt(id, 10);
    if (f.g === undefined) return { offset: position, frame: f.f ?? '', except: decodeExcept(f.x) };
    const m: StoredMessage = { offset: position, frame: snapshot, except: decodeExcept(f.x) };
    if (parts.length > 0) m.parts = parts;
    if (f.o === '1') m.open = true;
    return m;
  });
  return { epoch, offset: Number(offset), first: Number(first), messages };
}
