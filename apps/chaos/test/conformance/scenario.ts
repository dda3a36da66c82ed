/**
 * The conformance scenarios' format (docs/PROTOCOL.md §9): plain data, so that a client or a
 * server written in another language can run the same table.
 *
 * A **stream scenario** drives one client through connects, cuts and server-side events, then
 * checks the delivery ledger of every stream it names: exactly-once, in-order delivery of all
 * that was not announced lost, and announced loss equal to what was really lost.
 *
 * A **wire scenario** sends frames on raw sockets and expects frames and close codes.
 */

/** Where the server publishes: a base stream of the client's session, or a room. */
export type Target = 'broadcast' | 'user' | 'session' | { room: string };

/** One step of a stream scenario. */
export type Step =
  /** (Re)connect: say `hello` (resuming when the client holds a session) and wait for the welcome. */
  | { op: 'connect' }
  /** Cut every connection (TCP reset) and refuse new ones until `online`. */
  | { op: 'offline' }
  /** Accept connections again. */
  | { op: 'online' }
  /** Cut every connection (TCP reset) without refusing new ones, once the client has `afterDeliveries` more deliveries. */
  | { op: 'cut'; afterDeliveries?: number }
  /** Forward at most `bytes` bytes per write (0: off): makes a replay slow enough to cut into. */
  | { op: 'slice'; bytes: number }
  /** The server publishes `count` messages on `to`. */
  | { op: 'publish'; to: Target; count: number }
  /** Stop the in-memory server and start a new one (history, sessions and epochs lost). */
  | { op: 'restart' }
  /** Move the server clock forward by `ms` (timers that fall due run). */
  | { op: 'advance'; ms: number }
  /** Move the server clock past the resume window (the client is offline): the session expires. */
  | { op: 'expire' }
  /** The store loses the stream's history (a Redis flush): the next message starts a new epoch. */
  | { op: 'forget'; to: Target }
  /** The next `hello` authenticates as `user`. */
  | { op: 'token'; user: string }
  /** The client joins / leaves a room (and waits for the answer unless `wait: false`); `rewind`: §10.5. */
  | { op: 'join'; room: string; wait?: boolean; rewind?: { count?: number; ageMs?: number } }
  | { op: 'leave'; room: string; wait?: boolean }
  /** Wait until every `join`/`leave` sent so far was answered. */
  | { op: 'answered' }
  /** The client sends `count` `note` pubs (handled by a handler that can be held, see `hold`). */
  | { op: 'pubs'; count: number }
  /** Hold every `note` handler until `release` (a slow handler), after `running` of them started. */
  | { op: 'hold' }
  | { op: 'started'; count: number }
  | { op: 'release' }
  /** Wait until the server has seen `count` resent (duplicate) pubs. */
  | { op: 'resent'; count: number }
  /** Spec client only: replace its cursor of a stream (a forged or stale cursor for the next resume). */
  | { op: 'forge'; to: Target; offset?: number; epoch?: string }
  /**
   * Close the connection with `code` (4000 ends the session, §4.7b). The official client can
   * only close with 4000, through `close({ endSession: true })` (it then forgets the session).
   */
  | { op: 'close'; code: number }
  /** Wait until the client holds every message published so far on the checked streams. */
  | { op: 'settle' }
  /** Extension `appends` (§10): the server starts a growing `answer` on `to` (one open at a time per target). */
  | { op: 'start'; to: Target }
  /** The server appends `count` tokens to the open answer on `to` (in order, not awaited one by one). */
  | { op: 'grow'; to: Target; count: number }
  /** The server ends the open answer on `to`. */
  | { op: 'end'; to: Target }
  /** The client loses its in-memory state of open messages (a reload from persistence, §10.4). */
  | { op: 'reload' };

/** What a stream scenario expects besides the ledger verdict. */
export interface StreamExpect {
  /** Per welcome (by index): `resumed`, `resumeError`, and per stream name (target) its status/reason, listed once. */
  welcomes?: {
    index: number;
    resumed?: boolean;
    resumeError?: 'expired' | 'forbidden';
    /** Every listed stream, by target, with its status and reason; each must appear exactly once. */
    streams?: { to: Target; status: 'new' | 'recovered' | 'gap'; reason?: string }[];
    /** Exactly this many entries. */
    count?: number;
  }[];
  /** Deliveries per target on the final session (exact counts). */
  delivered?: { to: Target; count: number }[];
  /** Published messages announced lost per target (inside `from`..`to` ranges). */
  lost?: { to: Target; count: number }[];
  /** Every `pub` answered ok, each handled exactly once. */
  pubsHandledOnce?: boolean;
  /** Spec client only: no id got more than one `res`, no `res` for an id not pending. */
  oneResPerId?: boolean;
  /** Spec client only: the server never sent a `msg` the client already held (nothing dropped, §4.2). */
  noDuplicatesOnWire?: boolean;
  /** Rooms the session is in at the end, by the server's own account. */
  rooms?: string[];
  /** The sessions of these welcomes (by index) no longer exist on the server at the end. */
  freed?: number[];
  /** Handler runs in total (e.g. 0: nothing was handled). */
  handled?: number;
  /** Pubs that failed locally (outbox of another user). */
  failedLocally?: number;
  /**
   * Extension `appends` (§10.3): on each target, the client holds every answer the server
   * wrote, as its exact final value (done), having gone through each delta once, in order.
   */
  grown?: { to: Target; answers: number }[];
}

/** A stream scenario. */
export interface StreamScenario {
  name: string;
  /** The docs/PROTOCOL.md section it checks. */
  section: string;
  /** Server settings that differ from the suite's defaults. */
  server?: {
    retentionMessages?: number;
    retentionAgeMs?: number;
    sweepIntervalMs?: number;
    slowJoin?: boolean;
  };
  /** The streams whose ledger is checked at the end. */
  check: Target[];
  steps: Step[];
  expect?: StreamExpect;
  /** Which clients run it (default both). */
  clients?: ('spec' | 'official')[];
}

/** One step of a wire scenario on connection `conn` (default 0). */
export type WireStep =
  | { conn?: number; open: { origin?: string } }
  | { conn?: number; hello: Record<string, unknown> }
  | { conn?: number; send: Record<string, unknown> }
  | { conn?: number; sendRaw: string; binary?: boolean; invalidUtf8?: boolean }
  | { conn?: number; expect: Record<string, unknown> & { t: string } }
  /** Once `n` frames matching `count` arrived on this connection (or after a deadline), exactly `n` did. */
  | { conn?: number; count: Record<string, unknown> & { t: string }; n: number }
  /** Drop the TCP connection without a close frame. */
  | { conn?: number; terminate: true }
  /** Resume connection `resumeOf`'s session on this connection (optionally a wrong token, `cursors` made-up cursors). */
  | { conn?: number; resumeOf: number; resumeToken?: string; cursors?: number }
  /** Close this connection with `code`. */
  | { conn?: number; closeWith: number }
  /** The first frame of type `t` decodes with the protocol's own server-frame decoder and fits `maxPayload`. */
  | { conn?: number; expectValid: string; maxPayload: number }
  | { advance: number }
  /** `close`: shut the server down; `endSession`: end connection 0's session; `failReads`: the store fails reads. */
  | { server: 'close' | 'endSession' | 'failReads' };

/** A wire scenario: frames in, frames and a close code out. */
export interface WireScenario {
  name: string;
  section: string;
  server?: Record<string, unknown>;
  steps: WireStep[];
  /** The close code connection `conn` (default 0) must see. */
  close?: { conn?: number; code: number };
  /** Connection 0 must still be open at the end. */
  open?: boolean;
  /** Answer `ping`s (default true). */
  autoPong?: boolean;
}
