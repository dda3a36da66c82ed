/**
 * Every frame the server writes, built here and nowhere else (the `msg` frames of retained
 * messages are built once per message by the engine with `encodeMsgFrame`). Byte for byte
 * what the wire golden test (`test/wire-golden.test.ts`) pins: key order matters.
 */
import { ErrorCode, type HoldfastError, PROTOCOL_VERSION, type StreamStatus } from '@holdfast/protocol';

/** The fields of a `welcome` that vary. */
export interface WelcomeFields {
  sessionId: string;
  resumeToken: string;
  resumed: boolean;
  resumeError: 'expired' | 'forbidden' | undefined;
  user: string;
  streams: StreamStatus[];
  /** Optional extensions of v1 this server supports (docs/PROTOCOL.md §10); none: no field. */
  extensions: readonly string[];
  heartbeat: { intervalMs: number; timeoutMs: number };
  maxPayload: number;
  maxRooms: number;
  messagesPerSecond: number;
  /** Token-bucket size of the frame rate limit (§3). */
  burst: number;
  tokenExpiresAt: number | undefined;
}

/** `welcome`: the answer to a successful `hello`. */
export function welcomeFrame(w: WelcomeFields): string {
  return JSON.stringify({
    t: 'welcome',
    version: PROTOCOL_VERSION,
    sessionId: w.sessionId,
    resumeToken: w.resumeToken,
    resumed: w.resumed,
    ...(w.resumeError ? { resumeError: w.resumeError } : {}),
    user: w.user,
    streams: w.streams,
    ...(w.extensions.length > 0 ? { extensions: w.extensions } : {}),
    heartbeat: w.heartbeat,
    limits: {
      maxPayload: w.maxPayload,
      maxRooms: w.maxRooms,
      messagesPerSecond: w.messagesPerSecond,
      burst: w.burst,
      ...(w.tokenExpiresAt !== undefined ? { tokenExpiresAt: w.tokenExpiresAt } : {}),
    },
  });
}

/** A successful `res` (no `result` key when `result` is undefined). */
export function resOk(id: string, result?: unknown): string {
  return result === undefined
    ? JSON.stringify({ t: 'res', id, ok: true })
    : JSON.stringify({ t: 'res', id, ok: true, result });
}

/** A failed `res`. */
export function resError(id: string, error: HoldfastError): string {
  return JSON.stringify({ t: 'res', id, ok: false, error: error.toBody() });
}

/** `error`: a connection-level error. */
export function errorFrame(error: HoldfastError): string {
  return JSON.stringify({ t: 'error', error: error.toBody() });
}

/**
 * `error` when client message `id`'s handled-record could not be stored: not an answer; the
 * client resends it (same id) after a delay.
 */
export function notRecordedFrame(id: string): string {
  return JSON.stringify({
    t: 'error',
    id,
    error: { code: ErrorCode.Unavailable, message: 'Could not record the message; it will be retried' },
  });
}

/** `sub` of a join: the connection now has `stream` from this cursor. */
export function subJoinFrame(room: string, stream: string, epoch: string, offset: number): string {
  return JSON.stringify({ t: 'sub', op: 'join', room, stream, epoch, offset });
}

/** `sub` of a leave. */
export function subLeaveFrame(room: string, stream: string): string {
  return JSON.stringify({ t: 'sub', op: 'leave', room, stream });
}

/** `gap`: offsets `from`..`to` of `stream` will not come. */
export function gapFrame(
  stream: string,
  epoch: string,
  from: number,
  to: number,
  reason: 'epoch' | 'retention',
): string {
  return JSON.stringify({ t: 'gap', stream, epoch, from, to, reason });
}

/** `presence` of a room. */
export function presenceFrame(room: string, event: 'join' | 'leave', user: string, sessions: number): string {
  return JSON.stringify({ t: 'presence', room, event, user, sessions });
}

/** `vol`: a volatile message (`body` from `encodeMsgBody`). */
export function volFrame(stream: string, body: string): string {
  return `{"t":"vol","stream":${JSON.stringify(stream)},${body}}`;
}

/** The server's heartbeat `ping`. */
export function pingFrame(ts: number): string {
  return `{"t":"ping","ts":${ts}}`;
}

/** `pong`: the answer to a client's `ping` (echoing its `ts`). */
export function pongFrame(ts: number | undefined): string {
  return ts === undefined ? '{"t":"pong"}' : `{"t":"pong","ts":${ts}}`;
}
