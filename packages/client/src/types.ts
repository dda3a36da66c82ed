import type { AnyProtocol, AppendDeltas, ServerMessages } from '@holdfast/protocol';
import type { GrowingMeta } from './appends.js';
import type { MessageMeta } from './events.js';

/** The meta of app message `K`: {@link GrowingMeta} (with its delta type) for an appendable type. */
export type MessageMetaOf<P extends AnyProtocol, K> = K extends keyof AppendDeltas<P>
  ? GrowingMeta<AppendDeltas<P>[K]>
  : MessageMeta;

/**
 * The listener of app message `K`: its validated data and where it came from. For an
 * appendable type (extension `appends`), called on every update with the folded value.
 */
export type MessageListener<P extends AnyProtocol, K extends keyof ServerMessages<P>> = (
  data: ServerMessages<P>[K],
  meta: MessageMetaOf<P, K>,
) => void;

/** Per-call options of `send()`. */
export interface SendOptions {
  /**
   * Reject with `TIMEOUT` when no `res` came in time. A message never written to a socket is
   * then dropped from the outbox; one already written stays (its outcome becomes an `ack` event).
   * No deadline by default.
   */
  timeoutMs?: number;
}

/** Per-call options of `request()`. */
export interface RequestOptions {
  /**
   * Reject with `TIMEOUT` when no response came in time (as for `send()`).
   * @default 30000 (`timeouts.requestMs`)
   */
  timeoutMs?: number;
}

/** Where the session's cursor in a room stream starts, as answered to `join()`. */
export interface JoinResult {
  stream: string;
  epoch: string;
  offset: number;
  /** With `rewind`: how many retained messages the server replays from `offset` on. */
  rewound?: number;
}

/** Options of `close()`. */
export interface CloseOptions {
  /** The close reason sent to the server. @default 'Client closed' */
  reason?: string;
  /**
   * End the session (logout): close with 4000, so the server frees the session at once, and
   * forget the session, cursors and rooms locally. @default false (the session stays resumable)
   */
  endSession?: boolean;
}
