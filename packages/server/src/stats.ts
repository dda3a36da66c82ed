/** Counters since the server started. */
export interface Counters {
  /** Frames received from clients. */
  framesIn: number;
  /** Client app messages and requests handled (handler ran). */
  messagesIn: number;
  /** Retained messages published (appended) through this server. */
  published: number;
  /** Frames written to sockets. */
  framesOut: number;
  /** `msg` frames written to sockets (live and replayed). */
  deliveries: number;
  /** Ack frames received. */
  acks: number;
  /** Sessions created. */
  sessionsCreated: number;
  /** Successful resumes. */
  resumes: number;
  /** Resumes refused (expired or forbidden). */
  resumeFailures: number;
  /** Streams reported as gaps (welcome and gap frames). */
  gaps: number;
  /** Sessions expired. */
  sessionsExpired: number;
  /** Duplicate client messages answered from the dedupe memory. */
  duplicates: number;
  /** Volatile messages dropped under backpressure. */
  volatileDrops: number;
  /** Presence changes merged into a later event (see `presenceIntervalMs`). */
  presenceCoalesced: number;
  /** Handlers that threw. */
  handlerErrors: number;
  /** Engine (storage) errors. */
  engineErrors: number;
  /** Closes, by close code. */
  closes: Record<string, number>;
}

/** A `stats()` snapshot. */
export interface ServerStats {
  /** Milliseconds since epoch when taken. */
  at: number;
  /** Seconds the server has run. */
  uptimeSec: number;
  /** Open connections on this node. */
  connections: number;
  /** Connections still before `hello`. */
  pendingConnections: number;
  /** Sessions connected to this node. */
  sessions: number;
  /** Distinct users connected to this node. */
  users: number;
  /** Rooms with members (engine-wide when the engine knows). */
  rooms: number | undefined;
  /** Stream retention (engine-wide when the engine knows). */
  retention: { streams: number; messages: number; bytes: number } | undefined;
  /** Handled client message ids remembered and bytes of answers kept (engine-wide when the engine knows). */
  handled: { ids: number; bytes: number } | undefined;
  /** Handlers running now. */
  inflight: number;
  /**
   * Whether the engine reaches its storage (false while down or partitioned: newcomers get
   * 1013); undefined for engines without a remote store.
   */
  engineHealthy: boolean | undefined;
  /**
   * Bytes of live messages held on this node for connections whose replay is running (they
   * count with the socket's buffer against `highWaterMark`: a replay that cannot drain is closed 4008).
   */
  heldBytes: number;
  /** Counters. */
  counters: Counters;
}

/** Fresh zeroed counters. */
export function newCounters(): Counters {
  return {
    framesIn: 0,
    messagesIn: 0,
    published: 0,
    framesOut: 0,
    deliveries: 0,
    acks: 0,
    sessionsCreated: 0,
    resumes: 0,
    resumeFailures: 0,
    gaps: 0,
    sessionsExpired: 0,
    duplicates: 0,
    volatileDrops: 0,
    presenceCoalesced: 0,
    handlerErrors: 0,
    engineErrors: 0,
    closes: {},
  };
}
