import type { AnyProtocol, AppFrame, MsgFrame, StreamStatus } from '@holdfast/protocol';
import type { Cursors } from './cursors.js';
import type { MessageMeta } from './events.js';
import { roomOfStream } from './protocol.js';

/**
 * Where a message of an appendable type came from and how far it grew (extension `appends`,
 * docs/PROTOCOL.md §10): the meta its `client.on` listeners get with the folded value. (A
 * volatile `vol` message of an appendable type has none of these fields: it never grows.)
 */
export interface GrowingMeta<D = unknown> extends MessageMeta {
  /** Stable for one message (`<stream> <epoch> <start>`): a list key for its updates. */
  key: string;
  /** The offset of the message's first `msg`. */
  start: number;
  /** No more updates of this message will come (it ended, or was never open). */
  done: boolean;
  /** The delta this update folded in (validated); undefined for a start or a snapshot. */
  delta: D | undefined;
}

/** One open message: its type, value folded so far, and `at`, the offset of the last frame applied. */
interface Open {
  type: string;
  value: unknown;
  at: number;
  ts: number;
}

/**
 * An applied frame: what to tell the message's listeners. `error`: a snapshot or delta that is
 * not valid (to report; an invalid snapshot also ends the message at the client).
 */
export interface Applied {
  type: string;
  value: unknown;
  meta: GrowingMeta;
  error?: unknown;
}

/**
 * The client's rule for growing messages (docs/PROTOCOL.md §10.3): per stream, the epoch and
 * the open messages by start. A start or snapshot replaces a message's value unless the client
 * holds it at an `at` at or above its offset; an `app` is folded in when the client holds its
 * message below the app's offset; so whatever is applied once is never applied again, in any
 * mix of live frames, replays and snapshots. A done message is forgotten; so is every open
 * message of a stream whose epoch changed.
 */
export class Growing {
  readonly #streams = new Map<string, { epoch: string; open: Map<number, Open> }>();
  readonly #protocol: AnyProtocol;

  /** Validates and folds with the app's protocol. */
  constructor(protocol: AnyProtocol) {
    this.#protocol = protocol;
  }

  /** Forget the open messages of `stream` unless they are of `epoch` (none given: forget them all). */
  forget(stream: string, epoch?: string): void {
    if (this.#streams.get(stream)?.epoch !== epoch) this.#streams.delete(stream);
  }

  /** After a `welcome`: keep the open messages of the streams it lists in the same epoch only. */
  welcome(streams: readonly StreamStatus[]): void {
    const listed = new Map(streams.map((s) => [s.stream, s.epoch]));
    for (const stream of this.#streams.keys()) this.forget(stream, listed.get(stream));
  }

  /**
   * A frame of a growing message from the connection: applied (and its offset accepted as the
   * stream's cursor, a bad snapshot or delta reported) and its update handed to `emit`, or
   * dropped.
   */
  receive(
    f: MsgFrame | AppFrame,
    cursors: Cursors,
    h: { persist(): void; report(error: unknown): void },
    emit: (type: string, value: unknown, meta: GrowingMeta) => void,
  ): void {
    const a = this.apply(f);
    if (!a) return;
    cursors.accept(f.stream, f.epoch, f.offset);
    h.persist();
    if (a.error) h.report(a.error);
    // An invalid delta that ended its message still says so, with the value it had.
    if (!a.error || (a.meta.done && f.t === 'app')) emit(a.type, a.value, a.meta);
  }

  /**
   * Apply a `msg` (a start, a snapshot, or a whole message) or an `app`. Returns undefined when
   * the frame is dropped (already applied, or of a message the client does not hold).
   */
  apply(f: MsgFrame | AppFrame): Applied | undefined {
    const { stream, epoch, offset } = f;
    let s = this.#streams.get(stream);
    if (s?.epoch !== epoch) {
      s = { epoch, open: new Map() };
      this.#streams.set(stream, s);
    }
    const start = f.start ?? offset;
    const held = s.open.get(start);
    const app = f.t === 'app';
    if ((app && !held) || (held && held.at >= offset)) return;
    const p = this.#protocol;
    const type = app ? held!.type : f.type;
    let value = held?.value;
    let done = app ? !!f.end : !f.open;
    let delta: unknown;
    let error: unknown;
    try {
      if (!app) {
        const v = p.parseServer(type, f.data);
        if (!v.ok) throw v.error;
        value = v.value;
      } else if (f.data !== undefined) {
        const v = p.parseDelta(type, f.data);
        if (!v.ok) throw v.error;
        value = p.fold(type, value, v.value);
        delta = v.value;
      }
    } catch (e) {
      error = e;
      // A message whose value is not valid cannot grow: forget it.
      done ||= !app;
    }
    const ts = f.ts ?? held!.ts;
    if (done) s.open.delete(start);
    else s.open.set(start, { type, value, at: offset, ts });
    const key = `${stream} ${epoch} ${start}`;
    const room = roomOfStream(stream);
    return {
      type,
      value,
      error,
      meta: { stream, epoch, offset, ts, volatile: false, room, key, start, done, delta },
    };
  }
}
