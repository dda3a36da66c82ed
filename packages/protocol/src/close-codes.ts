/**
 * WebSocket close codes used by Holdfast, in one table shared by server and client.
 *
 * Retryable codes make the client reconnect with backoff (and resume). Terminal codes put
 * the client in the `failed` state until the app calls `connect()` again (except a 4401 after
 * the `welcome` when the client has a token provider: docs/PROTOCOL.md §4.7).
 *
 * @example
 * ```ts
 * ws.close(CloseCode.SlowConsumer, closeReason(CloseCode.SlowConsumer));
 * if (!isRetryable(event.code)) showError(describeClose(event.code).reason);
 * ```
 */
export const CloseCode = {
  /** 1000: closed on purpose by the client app. */
  Normal: 1000,
  /** 1001: the server is going away (shutdown) — reconnect, possibly elsewhere. */
  GoingAway: 1001,
  /** 1005: no status received (seen by clients, never sent). */
  NoStatus: 1005,
  /** 1006: the connection dropped without a close frame (seen by clients, never sent). */
  Abnormal: 1006,
  /** 1009: a frame exceeded maxPayload (sent by the `ws` layer itself). */
  FrameTooBig: 1009,
  /** 1011: unexpected server condition. */
  InternalErrorWs: 1011,
  /** 1012: the server restarts — reconnect. */
  Restart: 1012,
  /** 1013: try again later. */
  TryAgainLater: 1013,
  /** 4000: the session was ended by the server (logout, admin disconnect). */
  SessionEnded: 4000,
  /** 4008: the client did not read fast enough (outbound buffer over its high-water mark). */
  SlowConsumer: 4008,
  /** 4400: the client broke the protocol (undecodable or unexpected frame). */
  BadProtocol: 4400,
  /** 4401: not authenticated, or the token expired; retry only with a new token. */
  Unauthorized: 4401,
  /** 4403: forbidden (origin not allowed, user banned). */
  Forbidden: 4403,
  /** 4406: the protocol version in `hello` is not supported. */
  UnsupportedVersion: 4406,
  /** 4408: no `hello` (or no heartbeat answer) within the deadline. */
  Timeout: 4408,
  /** 4409: too many connections for this user (or remote address). */
  TooManyConnections: 4409,
  /** 4413: a message was too big. */
  MessageTooBig: 4413,
  /** 4429: rate limited; the reason carries `retryAfterMs=N`. */
  RateLimited: 4429,
  /** 4500: internal server error. */
  Internal: 4500,
} as const;

/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** What a close code means and whether a client should reconnect after it. */
export interface CloseCodeInfo {
  /** The code. */
  code: number;
  /** Short stable name, e.g. `'slow_consumer'`. */
  name: string;
  /** Human-readable reason, safe to show to users. */
  reason: string;
  /** Whether the client reconnects (and resumes) after this code. */
  retryable: boolean;
}

/**
 * The codes after which a client does not reconnect by itself: the peer refused what was sent
 * (1002, 1003, 1007, 1008, 1010) or a Holdfast code says retrying cannot help. Every other
 * code, known or not, is network trouble: retry. Kept apart from the table below so a client
 * bundles this, not the table's names and reasons.
 */
const TERMINAL: ReadonlySet<number> = new Set([
  1000, 1002, 1003, 1007, 1008, 1009, 1010, 4000, 4400, 4401, 4403, 4406, 4409, 4413,
]);

/**
 * Whether a client should reconnect after a close with this code.
 *
 * @example
 * ```ts
 * isRetryable(CloseCode.Restart) // true
 * isRetryable(CloseCode.Unauthorized) // false
 * ```
 */
export function isRetryable(code: number): boolean {
  return !TERMINAL.has(code);
}

const table: Record<number, Pick<CloseCodeInfo, 'name' | 'reason'>> = {
  1000: { name: 'normal', reason: 'Closed normally' },
  1001: { name: 'going_away', reason: 'Server going away' },
  1005: { name: 'no_status', reason: 'Connection closed without a status' },
  1006: { name: 'abnormal', reason: 'Connection lost' },
  1009: { name: 'frame_too_big', reason: 'Frame exceeds the maximum payload' },
  1011: { name: 'internal_error', reason: 'Unexpected server condition' },
  1012: { name: 'restart', reason: 'Server restarting' },
  1013: { name: 'try_again_later', reason: 'Try again later' },
  4000: { name: 'session_ended', reason: 'Session ended by the server' },
  4008: { name: 'slow_consumer', reason: 'Client too slow to read' },
  4400: { name: 'bad_protocol', reason: 'Protocol error' },
  4401: { name: 'unauthorized', reason: 'Unauthorized' },
  4403: { name: 'forbidden', reason: 'Forbidden' },
  4406: { name: 'unsupported_version', reason: 'Unsupported protocol version' },
  4408: { name: 'timeout', reason: 'Timed out' },
  4409: { name: 'too_many_connections', reason: 'Too many connections' },
  4413: { name: 'message_too_big', reason: 'Message too big' },
  4429: { name: 'rate_limited', reason: 'Rate limited' },
  4500: { name: 'internal', reason: 'Internal server error' },
};

/**
 * Describe any close code. Unknown codes are treated as retryable network failures,
 * except 1002/1003/1007/1008/1010 which mean the peer refused what was sent.
 */
export function describeClose(code: number): CloseCodeInfo {
  const known = table[code];
  const retryable = isRetryable(code);
  if (known) return { code, ...known, retryable };
  const refused = !retryable;
  return {
    code,
    name: refused ? 'refused' : 'unknown',
    reason: refused ? 'Connection refused by the server' : `Connection closed (${code})`,
    retryable,
  };
}

/** Every close code in the table, for docs and tests. */
export function closeCodeTable(): CloseCodeInfo[] {
  return Object.keys(table).map((k) => describeClose(Number(k)));
}

/** Close reasons are capped at 123 bytes by RFC 6455; ours stay ASCII and well under. */
const MAX_REASON = 120;

/**
 * Build a close reason: the code's human reason, optionally with a detail and a
 * `retryAfterMs` hint that clients honour (`"Rate limited: slow down; retryAfterMs=5000"`).
 */
export function closeReason(code: number, detail?: string, retryAfterMs?: number): string {
  let text = describeClose(code).reason;
  if (detail) text += `: ${detail}`;
  const suffix = retryAfterMs === undefined ? '' : `; retryAfterMs=${Math.max(0, Math.round(retryAfterMs))}`;
  // Keep to printable ASCII so the byte length is the string length.
  text = text.replace(/[^\x20-\x7e]/g, '?');
  return text.slice(0, MAX_REASON - suffix.length) + suffix;
}

/** Read the `retryAfterMs=N` hint from a close reason, if any. */
export function parseRetryAfter(reason: string | undefined): number | undefined {
  const m = /retryAfterMs=(\d{1,9})/.exec(reason ?? '');
  return m ? Number(m[1]) : undefined;
}
