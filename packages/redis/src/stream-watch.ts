import type { StoredMessage } from '@holdfast/server';

/** A message received on a stream's channel. */
export interface LiveMessage {
  epoch: string;
  message: StoredMessage;
}

/** One page of history, as the engine reads it. */
export interface HistoryPage {
  epoch: string;
  messages: StoredMessage[];
}

/**
 * Live delivery of one watched stream on this node, in offset order, without holes.
 *
 * Pub/sub is at-most-once: a subscriber that reconnects misses what was published
 * meanwhile. Offsets of a stream are contiguous (every message is published, whoever it
 * excludes), so a jump means loss: the watch reads the missing messages from history
 * before delivering what follows, and after a reconnect it catches up from history even if
 * nothing new arrives. Messages are delivered synchronously while nothing is missing.
 */
export class StreamWatch {
  /** Epoch of the last delivered message (undefined until the position is known). */
  epoch: string | undefined;
  /** Offset of the last delivered message. */
  offset = 0;
  /** Whether the channel subscription is confirmed. */
  subscribed = false;
  /** Resolves once subscribed and positioned (or failed trying): history reads wait for it. */
  ready: Promise<void> = Promise.resolve();
  private readonly queue: LiveMessage[] = [];
  private busy = 0;
  private catchUp = false;
  private stopped = false;
  /** The message a fill was last tried for: delivered next whatever the fill found. */
  private attempted: LiveMessage | undefined;

  constructor(
    readonly stream: string,
    readonly channel: string,
    private readonly deliver: (epoch: string, message: StoredMessage) => void,
    private readonly readAfter: (after: number) => Promise<HistoryPage>,
    private readonly report: (err: unknown) => void,
  ) {}

  /** Hold delivery while `task` runs (subscribing, positioning), then deliver what queued up. */
  hold(task: Promise<void>): Promise<void> {
    this.busy += 1;
    const done = task.finally(() => {
      this.busy -= 1;
      this.drain();
    });
    this.ready = done;
    return done;
  }

  /** Set the position if unknown (the head when the subscription was confirmed). */
  position(epoch: string, offset: number): void {
    if (this.epoch !== undefined) return;
    this.epoch = epoch;
    this.offset = offset;
  }

  /** A message arrived on the channel. */
  push(live: LiveMessage): void {
    if (this.stopped) return;
    this.queue.push(live);
    this.drain();
  }

  /** The subscription was re-established: fetch whatever was published while it was down. */
  resync(): void {
    if (this.stopped || this.epoch === undefined) return;
    this.catchUp = true;
    this.drain();
  }

  /** Stop delivering (unwatched). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private emit(epoch: string, message: StoredMessage): void {
    this.epoch = epoch;
    this.offset = message.offset;
    this.deliver(epoch, message);
  }

  private drain(): void {
    while (this.busy === 0 && !this.stopped) {
      if (this.catchUp) {
        this.catchUp = false;
        this.fill(undefined);
        return;
      }
      const next = this.queue[0];
      if (!next) return;
      if (this.epoch === next.epoch) {
        if (next.message.offset <= this.offset) {
          this.queue.shift();
          continue;
        }
        if (next.message.offset > this.offset + 1 && this.attempted !== next) {
          this.attempted = next;
          this.fill(next);
          return;
        }
      } else if (this.epoch !== undefined && next.message.offset > 1 && this.attempted !== next) {
        // A new epoch (Redis lost the history) whose first messages pub/sub did not bring
        // (published before the subscriber reconnected): they are in Redis, read them.
        this.attempted = next;
        this.fill(next);
        return;
      }
      this.queue.shift();
      this.attempted = undefined;
      this.emit(next.epoch, next.message);
    }
  }

  /** Read history after the current position, up to `until` (exclusive) or to the end. */
  private fill(until: LiveMessage | undefined): void {
    void this.hold(
      (async () => {
        try {
          for (;;) {
            const after = this.epoch === undefined ? 0 : this.offset;
            let page = await this.readAfter(after);
            // A new epoch restarts at offset 1: read it from its start, not from our offset
            // in the old one (that would skip what the new epoch holds below it).
            if (page.epoch !== this.epoch && after > 0) page = await this.readAfter(0);
            if (this.stopped) return;
            if (until && page.epoch !== until.epoch) return;
            // After a reconnect the epoch may have changed (history lost): deliver the new
            // epoch's retained messages from its start; the server tells its clients that
            // the old epoch ended (an epoch gap), never that the new one lost anything.
            const sameEpoch = page.epoch === this.epoch;
            let delivered = 0;
            for (const m of page.messages) {
              // No stop at `until`: history is read by position, and a growing message's
              // entry (extension `appends`) further on may hold frames below `until` that
              // were lost live too. Read on to the end; what comes live after is dropped.
              if (sameEpoch && m.offset <= this.offset) continue;
              this.emit(page.epoch, m);
              delivered += 1;
            }
            if (delivered === 0 || page.messages.length < PAGE) return;
          }
        } catch (err) {
          // History unavailable: deliver what we have; the server's own catch-up (offset
          // jump per connection) tries again with the next message.
          this.report(err);
        }
      })(),
    );
  }
}

/** Messages read per history page while filling. */
export const PAGE = 500;
