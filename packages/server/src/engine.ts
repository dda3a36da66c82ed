import type { Cursor } from '@holdfast/protocol';

/** Sessions or users a message must not reach. */
export interface Except {
  /** Session ids. */
  sessions?: readonly string[];
  /** User ids. */
  users?: readonly string[];
}

/**
 * One retained message of a stream, as stored: the whole `msg` frame, serialized once. A
 * growing message (extension `appends`, docs/PROTOCOL.md §10.2) is one entry: its snapshot
 * `msg` plus the `app` frames not folded into it yet.
 */
export interface StoredMessage {
  /** The message's position: the offset of its last frame (its msg, or its last app), >= 1. */
  offset: number;
  /**
   * Plain: the complete `msg` frame as JSON text. Growing: its snapshot `msg` frame (offset <=
   * position; `start` in it when the offset differs from the start).
   */
  frame: string;
  /** Growing: the `app` frames after the snapshot, oldest first (absent or empty when none). */
  parts?: string[] | undefined;
  /** Growing and not ended. */
  open?: boolean | undefined;
  /** Recipients excluded from this message (checked on live delivery and on replay). */
  except?: Except | undefined;
}

/** Where a stream stands. */
export interface StreamHead {
  /** The current epoch. */
  epoch: string;
  /** The last offset appended (0 when empty). */
  offset: number;
  /**
   * One more than the position of the last entry dropped by retention (PROTOCOL.md §10.2):
   * every entry at a position >= `first` is retained (head + 1 when everything was dropped).
   */
  first: number;
}

/** The answer to a history read. */
export interface ReadResult extends StreamHead {
  /** Retained messages (entries) with position > `after`, in position order, at most `limit`. */
  messages: StoredMessage[];
}

/** What the engine stores of a session (shared between nodes with a distributed engine). */
export interface SessionRecord {
  /** Session id. */
  id: string;
  /** The authenticated user the session is bound to. */
  user: string;
  /** SHA-256 (hex) of the resume token; the token itself is never stored. */
  resumeTokenHash: string;
  /** Creation time (ms). */
  createdAt: number;
  /** Rooms the session is a member of. */
  rooms: string[];
  /** The last cursor the client acked, per stream. */
  acked: Record<string, { epoch: string; offset: number }>;
  /**
   * Where each subscription starts, per stream: the stream's head when the session was
   * created (its base streams) or when it joined the room. A resume never replays a message
   * at or below it (docs/PROTOCOL.md §2, §4.2). Missing for a stream: no floor (records
   * stored before v1).
   */
  starts: Record<string, { epoch: string; offset: number }>;
  /** App data attached at authentication. */
  data?: Record<string, unknown> | undefined;
}

/** A room member as presence reports it. */
export interface PresenceEntry {
  /** User id. */
  user: string;
  /** How many sessions of this user are present (connected) in the room. */
  sessions: number;
}

/** Listener for messages appended to streams this node is interested in (any node appended them). */
export type StreamListener = (stream: string, epoch: string, message: StoredMessage) => void;
/** Listener for volatile frames published to streams this node is interested in. */
export type VolatileListener = (stream: string, frame: string, except: Except | undefined) => void;
/** Listener for presence and membership changes of rooms (any node). */
export type PresenceListener = (
  room: string,
  event: 'join' | 'leave',
  user: string,
  sessions: number,
) => void;
/** Listener for commands to sessions that may live on another node (e.g. join/leave/disconnect). */
export type ControlListener = (command: ControlCommand) => void;

/** A command addressed to whichever node holds a session's connection. */
export type ControlCommand =
  | {
      op: 'join' | 'leave';
      sessionId: string;
      room: string;
      stream: string;
      epoch?: string;
      offset?: number;
      /**
       * A join with rewind (docs/PROTOCOL.md §10.5): the subscription (re)starts at `offset`
       * even when the connection has the stream already, with the open messages sent first.
       */
      rewind?: boolean;
    }
  | { op: 'disconnect'; sessionId: string; code: number; reason: string; end: boolean };

/**
 * Everything the server stores or shares between nodes goes through this interface:
 * streams (append, read, live fan-out), sessions, handled client message ids, room
 * membership and per-user connection counts. The default is {@link MemoryEngine};
 * `@holdfast/redis` provides one for many nodes.
 *
 * Engines call the listeners registered with `onMessage` etc. for every message appended
 * to a stream this node `watch`es, including messages this node appended itself, in offset
 * order per stream.
 */
export interface Engine {
  /** Start (connect to storage). Called once by the server before it accepts connections. */
  start(listeners: {
    message: StreamListener;
    volatile: VolatileListener;
    presence: PresenceListener;
    control: ControlListener;
    /**
     * The engine's link to its storage turned unhealthy (down, or partitioned: connected but
     * not answering) or healthy again. When partitioned, other nodes may still reach the
     * storage: the server closes its connections with a retryable code so they resume there.
     */
    health?: (state: { healthy: boolean; partitioned: boolean }) => void;
    /**
     * Whether this node has subscribers of `stream` (the streams it `watch`es), for an engine
     * that needs to ask rather than keep its own copy of the set.
     */
    watching?: (stream: string) => boolean;
  }): Promise<void>;
  /** Stop and release everything. */
  close(): Promise<void>;

  /** Begin receiving live messages of `stream` on this node (called on the first local subscriber). */
  watch(stream: string): void;
  /** Stop receiving live messages of `stream` (called when the last local subscriber left). */
  unwatch(stream: string): void;

  /**
   * Append one message to a stream and fan it out. `body` is the stream-independent part of
   * the `msg` frame (from `encodeMsgBody`); the engine assigns the offset and joins the frame.
   * `options.open`: the message grows by appends (its body already ends with `,"open":true`).
   */
  append(
    stream: string,
    body: string,
    except?: Except,
    options?: { open?: boolean },
  ): Promise<{ epoch: string; offset: number }>;
  /**
   * Extension `appends` (docs/PROTOCOL.md §10). Append one `app` to open message `start`
   * (body from `encodeAppBody(start, delta, end)`): the engine takes the stream's next offset
   * k, builds the frame (`encodeAppFrame`), moves the message's entry to position k, ends it
   * when `end`, and calls the `message` listener with `{ offset: k, frame: <the app frame>,
   * except: <the message's> }` (live delivery, like `append`). `snapshot` (optional): the
   * message body folded up to and including this app (`encodeMsgBody(type, value, ts)` plus
   * `,"open":true` unless ended): the entry's snapshot becomes
   * `encodeMsgFrame(stream, epoch, k, '"start":' + start + ',' + snapshot)` and its parts are
   * dropped. `epoch` (optional): the epoch the message was started in.
   * Rejects with `HoldfastError` code `MESSAGE_CLOSED` when message `start` is not retained and
   * open in the stream's current epoch (ended, dropped by retention, epoch changed).
   */
  appendPart?(
    stream: string,
    start: number,
    body: string,
    options?: { end?: boolean; snapshot?: string; epoch?: string },
  ): Promise<{ epoch: string; offset: number }>;
  /** Retained open messages of a stream whose position is <= `upTo`, in position order (§10.4). */
  openMessages?(stream: string, upTo: number): Promise<ReadResult>;
  /**
   * Rewind (§10.5): R = the position just below the oldest of the newest `count` retained
   * entries whose position was written at or after `since` (ms, engine clock); R = head when
   * none. `count` in the answer: how many entries are after R.
   */
  rewindPoint?(
    stream: string,
    count: number,
    since?: number,
  ): Promise<{ epoch: string; offset: number; count: number }>;
  /** Send a volatile frame to the live subscribers of a stream, on every node. Never stored. */
  publishVolatile(stream: string, frame: string, except?: Except): Promise<void>;
  /** Retained entries whose position is > `after`, in position order (a growing message is one entry). */
  read(stream: string, after: number, limit: number): Promise<ReadResult>;
  /** Where a stream stands. */
  head(stream: string): Promise<StreamHead>;

  /** Store a new session. */
  createSession(record: SessionRecord, ttlMs: number): Promise<void>;
  /** Load a session, or undefined when it does not exist (expired). */
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Record acked cursors. */
  saveAcks(id: string, cursors: readonly Cursor[]): Promise<void>;
  /**
   * Record where a new subscription of an existing session starts (a join): the cursor becomes
   * both its start and its acked cursor. Dropped with the room on `leaveRoom`.
   */
  saveStart(id: string, cursor: Cursor): Promise<void>;
  /**
   * Record that a session got a connection (new or resumed) and cancel its expiry while
   * connected. Returns how many connections the session had before this one.
   */
  markConnected(id: string): Promise<number>;
  /** Keep a disconnected session for `ttlMs` more (0: while connected, no expiry). */
  touchSession(id: string, ttlMs: number): Promise<void>;
  /** Delete a session and everything it owns (membership, handled ids). Returns the deleted record. */
  deleteSession(id: string): Promise<SessionRecord | undefined>;
  /** Sessions whose resume window ended, to be expired by the caller (memory engine; distributed engines may expire by TTL). */
  expiredSessions(now: number): Promise<string[]>;

  /**
   * The stored `res` frame of a handled client message, if any; `''` when the message was
   * handled but its answer was not kept (over `keepBytes`).
   */
  getHandled(sessionId: string, messageId: string): Promise<string | undefined>;
  /**
   * Remember a handled client message's `res` frame (at least the last `keep` ids per session).
   * `keepBytes` bounds the answers kept per session: over it, the oldest answers are replaced
   * by `''` ("handled, answer not kept"), their ids stay. `res` may be `''` already.
   */
  putHandled(
    sessionId: string,
    messageId: string,
    res: string,
    keep: number,
    keepBytes?: number,
  ): Promise<void>;
  /**
   * Synchronous `getHandled`/`putHandled`, for engines that can answer at once (the memory
   * engine). When present, the server answers a request whose handler returns a value without
   * creating a single promise. Distributed engines leave it undefined.
   */
  readonly handledSync?:
    | {
        get(sessionId: string, messageId: string): string | undefined;
        put(sessionId: string, messageId: string, res: string, keep: number, keepBytes?: number): void;
      }
    | undefined;

  /** Add a session to a room; returns the user's session count in the room and whether it changed. */
  joinRoom(room: string, sessionId: string, user: string): Promise<{ added: boolean; sessions: number }>;
  /** Remove a session from a room. */
  leaveRoom(room: string, sessionId: string, user: string): Promise<{ removed: boolean; sessions: number }>;
  /**
   * Mark a member session present in a room through connection `connectionId` (presence means
   * connected, docs/PROTOCOL.md §4.5); a session that is not a member is not marked. Returns
   * whether the user's present-session count in the room changed, and that count now.
   */
  markPresent(
    room: string,
    sessionId: string,
    user: string,
    connectionId: string,
  ): Promise<{ changed: boolean; sessions: number }>;
  /**
   * Mark a session absent from a room. With `connectionId`, only while it is present through
   * that connection: a newer connection (maybe on another node) keeps it present. Returns
   * whether the user's present-session count changed, and that count now.
   */
  markAbsent(
    room: string,
    sessionId: string,
    user: string,
    connectionId?: string,
  ): Promise<{ changed: boolean; sessions: number }>;
  /** Present users of a room (member sessions with a connection, or within their grace), by user. */
  presence(room: string): Promise<PresenceEntry[]>;
  /** Session ids in a room. */
  roomSessions(room: string): Promise<string[]>;
  /** How many sessions are in a room (O(1) where the store allows). */
  roomSize(room: string): Promise<number>;
  /** Tell every node about a presence change (delivered to the `presence` listener). */
  publishPresence(room: string, event: 'join' | 'leave', user: string, sessions: number): Promise<void>;
  /** Send a control command to the node holding a session (delivered to `control` listeners on every node). */
  publishControl(command: ControlCommand): Promise<void>;

  /**
   * Count one more connection of a user if fewer than `limit` exist (atomic across nodes).
   * Returns false when the limit is reached. `sessionId` (when the connection resumes a
   * session) lets the engine give it the slot of that session's earlier connection, which a
   * dead node may still hold: a session has one connection at a time.
   */
  acquireUserSlot(user: string, connectionId: string, limit: number, sessionId?: string): Promise<boolean>;
  /** Release a connection slot. */
  releaseUserSlot(user: string, connectionId: string): Promise<void>;
  /** Connections of a user across all nodes. */
  userConnectionCount(user: string): Promise<number>;
  /** Sessions of a user across all nodes (that exist). */
  userSessions(user: string): Promise<string[]>;
  /** Number of existing sessions, across nodes. */
  countSessions(): Promise<number>;
  /** Engine-wide figures for stats, when cheap to know. */
  stats?(): {
    rooms: number;
    streams: number;
    messages: number;
    bytes: number;
    /** Handled client message ids remembered, and the bytes of the answers kept with them. */
    handled?: { ids: number; bytes: number };
  };
  /** Periodic housekeeping (retention by age); called by the server's sweep. */
  sweep?(): void;
  /**
   * Whether this node can serve clients now (its storage reachable and answering). The
   * server refuses new connections while false. Engines without a remote store omit it.
   */
  healthy?(): boolean;
}

/** Retention bounds of one kind of stream (see {@link RetentionOptions}). */
export interface RetentionBounds {
  /**
   * Messages kept per stream.
   * @default 2000
   */
  maxMessages?: number;
  /**
   * Bytes of frames kept per stream.
   * @default 4194304 (4 MiB)
   */
  maxBytes?: number;
  /**
   * Age after which messages are dropped (ms).
   * @default 300000 (5 min; longer than the default resume window)
   */
  maxAgeMs?: number;
}

/**
 * Retention bounds of each stream: the base bounds, and optional overrides per stream kind.
 * An entry counts once (a growing message too); its bytes are its snapshot's and pending
 * parts'. Eviction is oldest position first, also by age (when its position was written).
 */
export interface RetentionOptions extends RetentionBounds {
  /** Overrides for `session:*` streams. */
  session?: RetentionBounds;
  /** Overrides for `user:*` streams. */
  user?: RetentionBounds;
  /** Overrides for `room:*` streams. */
  room?: RetentionBounds;
  /** Overrides for the `broadcast` stream. */
  broadcast?: RetentionBounds;
}

/** The stream kinds retention can be set for. */
export const STREAM_KINDS = ['session', 'user', 'room', 'broadcast'] as const;

/** Resolved retention bounds of each stream kind. */
export type ResolvedRetention = Record<(typeof STREAM_KINDS)[number], Required<RetentionBounds>>;

/** Base bounds with each kind's overrides applied (undefined fields keep the base). */
export function resolveRetention(options: RetentionOptions | undefined): ResolvedRetention {
  const base = { ...DEFAULT_RETENTION, ...defined(options) };
  const out = {} as ResolvedRetention;
  for (const kind of STREAM_KINDS) out[kind] = { ...base, ...defined(options?.[kind]) };
  return out;
}

function defined(b: RetentionBounds | undefined): RetentionBounds {
  const out: RetentionBounds = {};
  if (b?.maxMessages !== undefined) out.maxMessages = b.maxMessages;
  if (b?.maxBytes !== undefined) out.maxBytes = b.maxBytes;
  if (b?.maxAgeMs !== undefined) out.maxAgeMs = b.maxAgeMs;
  return out;
}

/** The retention bounds of `stream`, by its kind (its name's prefix). */
export function retentionOf(r: ResolvedRetention, stream: string): Required<RetentionBounds> {
  switch (stream.charCodeAt(0)) {
    case 114 /* r */:
      return r.room;
    case 117 /* u */:
      return r.user;
    case 98 /* b */:
      return r.broadcast;
    default:
      return r.session;
  }
}

/** Default retention. */
export const DEFAULT_RETENTION: Required<RetentionBounds> = {
  maxMessages: 2000,
  maxBytes: 4 * 1024 * 1024,
  maxAgeMs: 300_000,
};
