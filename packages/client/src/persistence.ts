import type { Cursor, WelcomeFrame } from '@holdfast/protocol';
import type { Calls } from './calls.js';
import type { CloseInfo } from './connection-state.js';
import type { Cursors } from './cursors.js';
import type { ResolvedOptions } from './options.js';
import { CLOSE_NORMAL, CLOSE_SESSION_ENDED, HoldfastError } from './protocol.js';
import type { CloseOptions } from './types.js';

// A client's session, in memory: what `welcome` gives, what `hello.resume` carries, what a
// logout forgets. Storing it across page loads is the part of option `storage`
// (stored-state.ts), which only a bundle that makes a storage ships.

/** A session to resume: what `welcome` gave. */
export type Session = { sessionId: string; resumeToken: string };

/** The parts of a client that its stored state is made of. */
export interface StoredParts {
  /** The session to resume (from the last `welcome`, or storage). */
  session: Session | undefined;
  /** The user of the session: the outbox belongs to it (docs/PROTOCOL.md §4.4). */
  user: string | undefined;
  cursors: Cursors;
  /** The rooms joined or being joined. */
  rooms: Set<string>;
  calls: Calls;
  /**
   * Restored from storage and not welcomed since: the client holds no state of its streams'
   * open messages, so its `hello` asks for their snapshots (docs/PROTOCOL.md §10.4).
   */
  snapshots?: boolean;
}

/** Session, resume token and cursors: what `hello.resume` carries, and what is stored of the session. */
export type Resume = { sessionId: string; resumeToken: string; cursors: Cursor[]; snapshots?: boolean };

/** What is stored of the session, and what `hello.resume` carries (`hello`: with `snapshots`). */
export function resumeOf(parts: StoredParts, hello?: boolean): Resume | undefined {
  // `snapshots` only in a `hello`, and only when true (undefined fields are not encoded).
  return (
    parts.session && {
      ...parts.session,
      cursors: parts.cursors.list(),
      snapshots: (hello && parts.snapshots) || undefined,
    }
  );
}

/**
 * A `welcome`: its session, frame limit, cursors (it lists every subscribed stream) and user
 * replace the client's. The outbox belongs to a user: after a resume that landed on another
 * user (the token now names someone else), pending messages fail here instead of being sent as
 * that user. Without a token (`anonymous`) every session is a new anonymous user: the outbox is
 * resent.
 */
export function welcomed(parts: StoredParts, w: WelcomeFrame, anonymous: boolean): void {
  parts.session = { sessionId: w.sessionId, resumeToken: w.resumeToken };
  parts.calls.maxPayload = w.limits.maxPayload;
  parts.cursors.reset(w.streams);
  parts.snapshots = false;
  if (w.resumeError && !anonymous && parts.user !== undefined && w.user !== parts.user) {
    parts.calls.forsake(new HoldfastError('FORBIDDEN', 'Not sent: queued by another user'));
  }
  parts.user = w.user;
}

/**
 * The close of `client.close(options)`: 1000, or 4000 with `endSession` (a logout), which also
 * forgets the session, its user, cursors and rooms, so the next `hello` starts a new session.
 * The outbox is settled by the close itself.
 */
export function closeFor(options: string | CloseOptions | undefined, parts: StoredParts): CloseInfo {
  const o = typeof options === 'string' ? { reason: options } : (options ?? {});
  if (o.endSession) {
    parts.session = undefined;
    parts.user = undefined;
    parts.cursors.reset([]);
    parts.rooms.clear();
  }
  return {
    code: o.endSession ? CLOSE_SESSION_ENDED : CLOSE_NORMAL,
    reason: o.reason ?? 'Client closed',
  };
}

/** Writes a client's state to its storage (see `Persister` in stored-state.ts). */
export interface StateWriter {
  /** Note a change: the state is written soon, once for many changes. */
  schedule(): void;
  /** Resolves when every scheduled write has finished. */
  flush(): Promise<void>;
}

/**
 * The persistence a storage brings (stored-state.ts): reads the state back into `parts`, then
 * hands `ready` the writer of later changes. Resolves once the stored state is applied.
 */
export type Persist = (
  o: ResolvedOptions,
  parts: StoredParts,
  ready: (writer: StateWriter) => void,
) => Promise<void>;

/**
 * The persistence of option `storage`.
 * @throws {TypeError} when the storage was not made by `webStorage`, `memoryStorage` or `persistentStorage`.
 */
export function persistOf(storage: object): Persist {
  const persist = (storage as { persistence?: unknown }).persistence;
  if (typeof persist !== 'function') {
    throw new TypeError(
      'Option storage: make it with webStorage(), memoryStorage() or persistentStorage(adapter)',
    );
  }
  return persist as Persist;
}
