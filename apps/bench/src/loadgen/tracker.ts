import { Samples } from '../stats.js';
import type { DeliveryCheck } from '../types.js';

/** Per-connection delivery state the tracker keeps. */
export interface Receiver {
  /** The channel this connection receives (`*` or a room). */
  readonly channel: string;
  /** Highest message id received. */
  lastId: number;
  /** When the current connection became ready (monotonic ms); see {@link Tracker.onTick}. */
  readyAt: number;
  /** Arrival of the last message sent before `readyAt` that came after it (a replayed one). */
  replayedAt: number;
  /**
   * When it held every message sent before `readyAt`: `readyAt`, or the arrival of the last
   * replayed message. Known (non-zero) once a message sent after `readyAt` arrives, since
   * messages arrive in order.
   */
  caughtUpAt: number;
}

class Channel {
  counts = new Uint32Array(1024);
  completedThrough = 0;
  constructor(readonly members: number) {}

  add(id: number): void {
    if (id >= this.counts.length) {
      let size = this.counts.length;
      while (size <= id) size *= 2;
      const next = new Uint32Array(size);
      next.set(this.counts);
      this.counts = next;
    }
    this.counts[id]! += 1;
  }

  advance(): boolean {
    const start = this.completedThrough;
    while (
      this.completedThrough + 1 < this.counts.length &&
      this.counts[this.completedThrough + 1]! >= this.members
    )
      this.completedThrough += 1;
    return this.completedThrough !== start;
  }
}

/**
 * Counts deliveries per channel and message id, so every run can tell loss and duplicates:
 * each message must reach each member of its channel exactly once, in order.
 */
export class Tracker {
  private readonly channels = new Map<string, Channel>();
  /** Latency samples (ms) while `recordLatency` is on. */
  readonly latency = new Samples();
  recordLatency = false;
  duplicates = 0;
  deliveries = 0;
  /** Called when a channel's fully delivered prefix grows. */
  onComplete: ((channel: string, completedThrough: number) => void) | undefined;
  /** Called when a receiver catches up after a reconnect. */
  onCaughtUp: ((r: Receiver) => void) | undefined;

  /** Declare the channels and how many members each has. */
  setChannels(members: Map<string, number>): void {
    this.channels.clear();
    for (const [name, n] of members) this.channels.set(name, new Channel(n));
  }

  onTick(r: Receiver, id: number, ts: number, now: number): void {
    if (id <= r.lastId) {
      this.duplicates += 1;
      return;
    }
    r.lastId = id;
    this.deliveries += 1;
    if (this.recordLatency) this.latency.push(now - ts);
    if (r.caughtUpAt === 0 && r.readyAt > 0) {
      if (ts < r.readyAt) r.replayedAt = now;
      else {
        r.caughtUpAt = Math.max(r.readyAt, r.replayedAt);
        this.onCaughtUp?.(r);
      }
    }
    const ch = this.channels.get(r.channel);
    if (!ch) return;
    ch.add(id);
    if (this.onComplete && ch.counts[id]! >= ch.members && id === ch.completedThrough + 1 && ch.advance())
      this.onComplete(r.channel, ch.completedThrough);
  }

  completedThrough(channel: string): number {
    return this.channels.get(channel)?.completedThrough ?? 0;
  }

  /** Loss and duplicates over message ids `from[ch]`..`to[ch]` (inclusive) of each channel. */
  check(from: Record<string, number>, to: Record<string, number>, duplicatesBefore = 0): DeliveryCheck {
    let messages = 0;
    let deliveries = 0;
    let lost = 0;
    for (const [name, ch] of this.channels) {
      const a = from[name] ?? 1;
      const b = to[name] ?? 0;
      for (let id = a; id <= b; id++) {
        const got = id < ch.counts.length ? ch.counts[id]! : 0;
        messages += 1;
        deliveries += got;
        if (got < ch.members) lost += ch.members - got;
      }
    }
    return { messages, deliveries, lost, duplicates: this.duplicates - duplicatesBefore };
  }
}
