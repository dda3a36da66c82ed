import type { Engine, ReadResult } from '@holdfast/server';
import type { Link } from './link.js';
import { decodePayload } from './payload.js';
import { type HistoryPage, StreamWatch } from './stream-watch.js';
import type { StreamStore } from './streams.js';

/** The listeners the server gives the engine when it starts. */
export type Listeners = Parameters<Engine['start']>[0];

/** Streams trimmed per batch by {@link Watches.maintain} (bounds reply sizes). */
const BATCH = 500;

/**
 * The streams this node watches: one (sharded) pub/sub subscription per stream some local
 * connection follows, each feeding a {@link StreamWatch} that delivers its messages to the
 * server in offset order, filling holes from history. Also re-subscribes and catches up
 * after the subscriber connection comes back.
 */
export class Watches {
  private listeners: Listeners | undefined;
  private readonly watches = new Map<string, StreamWatch>();
  private readonly byChannel = new Map<string, StreamWatch>();

  constructor(
    private readonly link: Link,
    private readonly streams: StreamStore,
  ) {
    link.onSubscriberReconnected = () => this.resubscribe();
    // A catch-up reads history on the commands connection: when the subscriber came back
    // first, it failed; catch up again now that history can be read.
    link.onCommandsReconnected = () => {
      for (const w of this.watches.values()) if (w.subscribed && w.epoch !== undefined) w.resync();
    };
  }

  /** How many streams are watched. */
  get size(): number {
    return this.watches.size;
  }

  /** Where live messages, volatile frames and presence changes go (undefined: dropped). */
  deliverTo(listeners: Listeners | undefined): void {
    this.listeners = listeners;
  }

  /**
   * Retained messages after `after`. When this node just started watching the stream, waits
   * for the subscription first, so that whatever is appended after this read is delivered live.
   */
  async read(stream: string, after: number, limit: number): Promise<ReadResult> {
    const w = this.watches.get(stream);
    if (w && this.link.up.subscriber) await w.ready;
    return this.streams.read(stream, after, limit);
  }

  /** Subscribe to the stream's channel (first local subscriber). */
  watch(stream: string): void {
    if (this.link.state === 'closed' || this.watches.has(stream)) return;
    const channel = this.link.keys.streamChannel(stream);
    const w = new StreamWatch(
      stream,
      channel,
      (epoch, message) => this.listeners?.message(stream, epoch, message),
      (after) => this.historyAfter(stream, after),
      (err) => this.link.report('catch-up', err),
    );
    this.watches.set(stream, w);
    this.byChannel.set(channel, w);
    void w.hold(this.subscribe(w));
  }

  private async historyAfter(stream: string, after: number): Promise<HistoryPage> {
    const page = await this.streams.read(stream, after, 500);
    return { epoch: page.epoch, messages: page.messages };
  }

  private async subscribe(w: StreamWatch): Promise<void> {
    const { link } = this;
    try {
      if (link.sharded) await link.sub.sSubscribe(w.channel, this.onPayload);
      else await link.sub.subscribe(w.channel, this.onPayload);
      w.subscribed = true;
      if (this.watches.get(w.stream) !== w) return;
      // The position from which live messages are complete: anything older is read from
      // history by whoever needs it (the server replays after this resolves).
      const head = await this.streams.read(w.stream, 0, 0);
      w.position(head.epoch, head.offset);
    } catch (err) {
      link.report('watch', err);
    }
  }

  /** Unsubscribe from the stream's channel (last local subscriber left). */
  unwatch(stream: string): void {
    const w = this.watches.get(stream);
    if (!w) return;
    w.stop();
    this.watches.delete(stream);
    this.byChannel.delete(w.channel);
    const { link } = this;
    const done = link.sharded
      ? link.sub.sUnsubscribe(w.channel, this.onPayload)
      : link.sub.unsubscribe(w.channel, this.onPayload);
    done.catch((err: unknown) => link.log.debug({ err, stream }, 'unsubscribe failed'));
  }

  /** Stop every watch (the engine is closing). */
  stopAll(): void {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.byChannel.clear();
  }

  private readonly onPayload = (payload: string, channel: string): void => {
    const w = this.byChannel.get(channel);
    if (!w || !this.listeners) return;
    try {
      const p = decodePayload(payload);
      if (!p) return;
      if (p.kind === 'msg') {
        w.push({ epoch: p.epoch, message: { offset: p.offset, frame: p.frame, except: p.except } });
      } else if (p.kind === 'vol') {
        this.listeners.volatile(w.stream, p.frame, p.except);
      } else {
        this.listeners.presence(p.room, p.event, p.user, p.sessions);
      }
    } catch (err) {
      this.link.log.error({ err, channel }, 'bad payload on a stream channel');
    }
  };

  /**
   * The pub/sub connection came back. node-redis has re-subscribed the confirmed channels;
   * subscribe those that were not, and catch every watched stream up from history: what was
   * published while the connection was down never arrives through pub/sub.
   */
  private resubscribe(): void {
    for (const w of this.watches.values()) {
      if (w.subscribed && w.epoch !== undefined) w.resync();
      else void w.hold(this.subscribe(w));
    }
    // Channels unwatched while the connection was down may have been re-subscribed.
    const { link } = this;
    const listening = link.sub.getPubSubListeners(link.sharded ? 'SHARDED' : 'CHANNELS');
    for (const channel of listening.keys()) {
      if (channel === link.keys.control || this.byChannel.has(channel)) continue;
      const done = link.sharded ? link.sub.sUnsubscribe(channel) : link.sub.unsubscribe(channel);
      done.catch((err: unknown) => link.log.debug({ err, channel }, 'unsubscribe failed'));
    }
  }

  /** Trim watched streams by age and keep them from expiring while watched (housekeeping). */
  async maintain(): Promise<void> {
    const streams = [...this.watches.keys()];
    for (let i = 0; i < streams.length; i += BATCH) {
      await Promise.all(streams.slice(i, i + BATCH).map((s) => this.streams.read(s, 0, 0)));
    }
  }
}
