import type { Except, ReadResult, RetentionOptions, StoredMessage, StreamHead } from '@holdfast/server';
import type { Link } from './link.js';
import { decodeExcept, encodeExcept, encodeVolatile } from './payload.js';
import { APPEND, READ } from './scripts.js';
import { pairs } from './session-record.js';

/**
 * Streams in Redis: one Redis Stream per Holdfast stream (entry id `<offset>-0`) and a meta
 * hash holding its epoch and next offset. Appending is one script that stores the frame,
 * trims by count, bytes and age, and publishes the message once on the stream's channel.
 * A stream that lost its history (flush, idle expiry) gets a new epoch on its next use.
 */
export class StreamStore {
  private epochSeq = 0;

  constructor(
    private readonly link: Link,
    private readonly retention: Required<RetentionOptions>,
    private readonly idleTtlMs: number,
    /** Random prefix of the epochs this node creates (unique per engine instance). */
    private readonly epochBase: string,
  ) {}

  private newEpoch(): string {
    this.epochSeq += 1;
    return `${this.epochBase}${this.epochSeq.toString(36)}`;
  }

  private streamArgs(now: number): [number, number, number] {
    const r = this.retention;
    return [r.maxMessages, r.maxBytes, now - r.maxAgeMs];
  }

  /** Append one message: assigns the offset, stores the frame, trims and publishes it. */
  async append(stream: string, body: string, except?: Except): Promise<{ epoch: string; offset: number }> {
    const { link } = this;
    const now = link.clock.now();
    const [epoch, offset] = await link.run<[string, number]>(
      APPEND,
      [link.keys.streamMeta(stream), link.keys.streamLog(stream), link.keys.streamChannel(stream)],
      [
        this.newEpoch(),
        JSON.stringify(stream),
        body,
        encodeExcept(except),
        now,
        ...this.streamArgs(now),
        this.idleTtlMs,
        link.sharded ? '1' : '0',
      ],
    );
    return { epoch, offset: Number(offset) };
  }

  /** Publish a volatile frame on the stream's channel (never stored). */
  async publishVolatile(stream: string, frame: string, except?: Except): Promise<void> {
    await this.link.publish(this.link.keys.streamChannel(stream), encodeVolatile(frame, except));
  }

  /**
   * Retained messages after `after` (at most `limit`; 0 reads only the head). Also trims by
   * age and renews the stream's idle expiry, creating its epoch if it has none.
   */
  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const { link } = this;
    const now = link.clock.now();
    const [epoch, offset, first, entries] = await link.run<[string, number, number, [string, string[]][]]>(
      READ,
      [link.keys.streamMeta(stream), link.keys.streamLog(stream)],
      [this.newEpoch(), now, ...this.streamArgs(now), this.idleTtlMs, after, limit],
    );
    const messages: StoredMessage[] = entries.map(([id, fields]) => {
      const f = pairs(fields);
      return { offset: Number.parseInt(id, 10), frame: f.f ?? '', except: decodeExcept(f.x) };
    });
    return { epoch, offset: Number(offset), first: Number(first), messages };
  }

  /** Where a stream stands (creating its epoch if it has none). */
  async head(stream: string): Promise<StreamHead> {
    const { epoch, offset, first } = await this.read(stream, 0, 0);
    return { epoch, offset, first };
  }
}
