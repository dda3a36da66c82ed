import { type AnyProtocol, type ServerFrame, Streams, type WelcomeFrame } from '@holdfast/protocol';
import type { Cursors } from './cursors.js';
import type { ClientEvents, Emitter, GapEvent, MessageMeta } from './events.js';

/** The server frames that carry stream data or membership. */
export type StreamFrame = Extract<ServerFrame, { t: 'msg' | 'vol' | 'sub' | 'gap' | 'presence' }>;

/** What {@link Delivery} needs from its client. */
export interface DeliveryDeps {
  protocol: AnyProtocol;
  cursors: Cursors;
  /** The client's rooms, kept in step with `sub` frames. */
  rooms: Set<string>;
  /** App message listeners, by message type. */
  messages: Emitter<any>;
  emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void;
  report(error: unknown): void;
  /** Cursors or rooms changed. */
  persist(): void;
}

/**
 * Server-to-client delivery: what stream frames do to cursors and rooms, and what the app
 * sees. A `msg` at or below its stream's cursor is a duplicate and dropped; any other is
 * validated with the protocol and delivered once, in stream order. Loss is only ever what the
 * server announces (welcome gaps, `gap` frames), raised as `gap` events.
 */
export class Delivery {
  readonly #d: DeliveryDeps;

  constructor(deps: DeliveryDeps) {
    this.#d = deps;
  }

  /** Handle a stream frame (on a connected client). */
  frame(f: StreamFrame): void {
    const d = this.#d;
    switch (f.t) {
      case 'msg':
        if (!d.cursors.accept(f.stream, f.epoch, f.offset)) return;
        d.persist();
        return this.#deliver(f.type, f.data, {
          stream: f.stream,
          epoch: f.epoch,
          offset: f.offset,
          ts: f.ts,
          volatile: false,
          room: Streams.roomOf(f.stream),
        });
      case 'vol':
        return this.#deliver(f.type, f.data, {
          stream: f.stream,
          ts: f.ts,
          volatile: true,
          room: f.stream === undefined ? undefined : Streams.roomOf(f.stream),
        });
      case 'sub':
        if (f.op === 'join') {
          d.rooms.add(f.room);
          if (f.epoch !== undefined && f.offset !== undefined) this.#advance(f.stream, f.epoch, f.offset);
        } else {
          d.rooms.delete(f.room);
          d.cursors.delete(f.stream);
        }
        d.persist();
        return d.emit('room', { op: f.op, room: f.room, stream: f.stream });
      case 'presence':
        return d.emit('presence', { room: f.room, event: f.event, user: f.user, sessions: f.sessions });
      case 'gap':
        this.#advance(f.stream, f.epoch, f.to);
        d.persist();
        return d.emit('gap', {
          stream: f.stream,
          epoch: f.epoch,
          from: f.from,
          to: f.to,
          reason: f.reason,
          source: 'frame',
        });
    }
  }

  /**
   * A welcome: it lists every subscribed stream, so its cursors replace ours. Returns the gap
   * events to raise: every `gap` status, and when the resume failed (`resumeError`), every
   * stream we held that the welcome does not list as a gap.
   */
  welcome(w: WelcomeFrame): GapEvent[] {
    const previous = this.#d.cursors.list();
    this.#d.cursors.reset(w.streams);
    const gaps: GapEvent[] = [];
    for (const s of w.streams) {
      if (s.status !== 'gap') continue;
      const reason = s.reason ?? 'unknown';
      gaps.push({ stream: s.stream, epoch: s.epoch, from: s.from, to: s.to, reason, source: 'welcome' });
    }
    if (w.resumeError) {
      for (const c of previous) {
        if (gaps.some((g) => g.stream === c.stream)) continue;
        gaps.push({ stream: c.stream, epoch: c.epoch, reason: w.resumeError, source: 'welcome' });
      }
    }
    return gaps;
  }

  /** Move a cursor forward as the server announced (join, gap); never backward in one epoch. */
  #advance(stream: string, epoch: string, offset: number): void {
    const c = this.#d.cursors.get(stream);
    if (!c || c.epoch !== epoch || c.offset < offset) this.#d.cursors.set(stream, epoch, offset);
  }

  #deliver(type: string, data: unknown, meta: MessageMeta): void {
    const v = this.#d.protocol.parseServer(type, data);
    if (!v.ok) return this.#d.report(v.error);
    try {
      this.#d.messages.emit(type, v.value, meta);
    } catch (error) {
      // A throwing app listener must not break delivery of the next message.
      this.#d.report(error);
    }
  }
}
