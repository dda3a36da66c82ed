import type { AnyProtocol, FrameOf } from '@holdfast/protocol';
import type { Growing } from './appends.js';
import type { Cursors } from './cursors.js';
import type { ClientEvents, Emitter, MessageMeta } from './events.js';
import { HoldfastError, roomOfStream } from './protocol.js';
import type { Rooms } from './rooms.js';

/** The frames about streams a connected client receives. */
export type StreamFrame = FrameOf<'msg' | 'app' | 'vol' | 'sub' | 'presence' | 'gap'>;

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
 * stream order. Starts, snapshots and `app`s of growing messages follow §10.3 instead
 * ({@link Growing}). Loss is only ever what the server announces (welcome gaps, `gap` frames),
 * raised as `gap` events. `sub` frames keep the client's rooms and cursors in step.
 */
export class Delivery {
  readonly #protocol: AnyProtocol;
  readonly #cursors: Cursors;
  readonly #rooms: Rooms;
  readonly #messages: Emitter<any>;
  readonly #h: DeliveryHandlers;
  /**
   * Growing messages (§10.3), from plugin `appends` (none without); a `welcome` passes its
   * streams to `growing.welcome`.
   */
  readonly growing: Growing | undefined;

  /** Works on the client's cursors, rooms and app message emitter. */
  constructor(
    protocol: AnyProtocol,
    cursors: Cursors,
    rooms: Rooms,
    messages: Emitter<any>,
    handlers: DeliveryHandlers,
    growing: Growing | undefined,
  ) {
    this.#protocol = protocol;
    this.#cursors = cursors;
    this.#rooms = rooms;
    this.#messages = messages;
    this.#h = handlers;
    this.growing = growing;
  }

  /** A stream frame from the current connection, after its `welcome`. */
  frame(f: StreamFrame): void {
    const cursors = this.#cursors;
    const h = this.#h;
    switch (f.t) {
      case 'msg':
        if (f.start === undefined && !f.open) {
          if (!cursors.accept(f.stream, f.epoch, f.offset)) return;
          h.persist();
          // A whole message of an appendable type gets its `key` and `done` too.
          if (!this.#protocol.isAppendable(f.type)) return this.#deliver(f);
        }
        return this.#grow(f);
      case 'app':
        return this.#grow(f);
      case 'vol':
        return this.#deliver(f);
      case 'sub':
        if (f.op === 'join') {
          this.#rooms.joined(f.room);
          // A `sub` starts a subscription or moves its start down (a rewind, §10.5): the one
          // case where a cursor moves back.
          if (f.epoch !== undefined && f.offset !== undefined)
            cursors.advance(f.stream, f.epoch, f.offset, true);
        } else {
          this.#rooms.names.delete(f.room);
          cursors.delete(f.stream);
          this.growing?.forget(f.stream);
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
        this.growing?.forget(f.stream, f.epoch);
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
      room: stream === undefined ? undefined : roomOfStream(stream),
    };
    this.#emit(type, v.value, meta);
  }

  /** A start, snapshot or `app` of a growing message: applied under §10.3, or dropped. */
  #grow(f: FrameOf<'msg' | 'app'>): void {
    // Without plugin `appends` the protocol declares no appendable type (the client refuses
    // to start otherwise), so a server that sends a growing message breaks the protocol.
    if (!this.growing)
      return this.#h.report(new HoldfastError('UNSUPPORTED', 'A growing message: add plugin appends'));
    this.growing.receive(f, this.#cursors, this.#h, this.#emit);
  }

  /** Call the listeners of `type`. An arrow function: handed to `growing.receive` as is. */
  readonly #emit = (type: string, value: unknown, meta: MessageMeta): void => {
    try {
      this.#messages.emit(type, value, meta);
    } catch (error) {
      // A throwing app listener must not break delivery of the next message.
      this.#h.report(error);
    }
  };
}
