import type { AnyProtocol, FrameOf } from '@holdfast/protocol';
import type { Cursors } from './cursors.js';
import type { ClientEvents, Emitter, MessageMeta } from './events.js';
import { Streams } from './protocol.js';

/** The frames about streams a connected client receives. */
export type StreamFrame = FrameOf<'msg' | 'vol' | 'sub' | 'presence' | 'gap'>;

/** What a {@link Delivery} asks of its client. */
export interface DeliveryHandlers {
  /** Note a change of the persisted state (cursors, rooms). */
  persist(): void;
  /** Emit a lifecycle event (`room`, `presence`, `gap`). */
  emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void;
  /** Report an error (an `error` event). */
  report(error: unknown): void;
}

/**
 * The stream side of a connected client. A `msg` at or below its stream's cursor is a
 * duplicate and dropped; any other is validated with the protocol and delivered once, in
 * stream order. Loss is only ever what the server announces (welcome gaps, `gap` frames),
 * raised as `gap` events. `sub` frames keep the client's rooms and cursors in step.
 */
export class Delivery {
  readonly #protocol: AnyProtocol;
  readonly #cursors: Cursors;
  readonly #rooms: Set<string>;
  readonly #messages: Emitter<any>;
  readonly #h: DeliveryHandlers;

  /** Works on the client's cursors, room set and app message emitter. */
  constructor(
    protocol: AnyProtocol,
    cursors: Cursors,
    rooms: Set<string>,
    messages: Emitter<any>,
    handlers: DeliveryHandlers,
  ) {
    this.#protocol = protocol;
    this.#cursors = cursors;
    this.#rooms = rooms;
    this.#messages = messages;
    this.#h = handlers;
  }

  /** A stream frame from the current connection, after its `welcome`. */
  frame(f: StreamFrame): void {
    const cursors = this.#cursors;
    const h = this.#h;
    switch (f.t) {
      case 'msg':
        if (!cursors.accept(f.stream, f.epoch, f.offset)) return;
        h.persist();
        return this.#deliver(f);
      case 'vol':
        return this.#deliver(f);
      case 'sub':
        if (f.op === 'join') {
          this.#rooms.add(f.room);
          if (f.epoch !== undefined && f.offset !== undefined) cursors.advance(f.stream, f.epoch, f.offset);
        } else {
          this.#rooms.delete(f.room);
          cursors.delete(f.stream);
        }
        h.persist();
        return h.emit('room', { op: f.op, room: f.room, stream: f.stream });
      case 'presence': {
        // The frame (validated, so without unknown fields) is the event, less its `t`.
        const { t, ...presence } = f;
        return h.emit('presence', presence);
      }
      case 'gap': {
        const { t, ...gap } = f;
        cursors.advance(f.stream, f.epoch, f.to);
        h.persist();
        return h.emit('gap', { ...gap, source: 'frame' });
      }
    }
  }

  /** Validate an app message (`msg` or `vol`) and call its listeners. */
  #deliver({ t, type, data, ...where }: FrameOf<'msg' | 'vol'>): void {
    const v = this.#protocol.parseServer(type, data);
    if (!v.ok) return this.#h.report(v.error);
    const { stream } = where;
    // `where` is `stream`, `epoch`, `offset` and `ts` (`stream` and `ts` for a `vol`).
    const meta: MessageMeta = {
      stream,
      ...where,
      volatile: t === 'vol',
      room: stream === undefined ? undefined : Streams.roomOf(stream),
    };
    try {
      this.#messages.emit(type, v.value, meta);
    } catch (error) {
      // A throwing app listener must not break delivery of the next message.
      this.#h.report(error);
    }
  }
}
