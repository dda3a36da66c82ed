/** How a connection ended: the close code and reason, observed or decided by the client. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * The client's one connection state. Read it as `client.state`; every change is an `events`
 * `'state'` event with `{ prev, next, reason }`.
 *
 * - `idle`: created, `connect()` not called yet.
 * - `connecting`: a socket is opening or waiting for `welcome`. `attempt` is 0 for the first
 *   try and the retry number after that.
 * - `connected`: `welcome` received; `resumed` says whether the session survived.
 * - `reconnecting`: waiting `delayMs` (until `retryAt`) before retry number `attempt`.
 * - `closed`: closed by the app (`close()`); `connect()` starts again.
 * - `failed`: stopped on a terminal close code or after `maxAttempts`; `connect()` starts again.
 *
 * @example
 * ```ts
 * if (client.state.status === 'reconnecting') showBanner(`retrying in ${client.state.delayMs} ms`);
 * ```
 */
export type ConnectionState =
  | { status: 'idle' }
  | { status: 'connecting'; attempt: number }
  | { status: 'connected'; sessionId: string; resumed: boolean }
  | { status: 'reconnecting'; attempt: number; retryAt: number; delayMs: number; lastClose: CloseInfo }
  | { status: 'closed'; code?: number; reason?: string }
  | { status: 'failed'; code: number; reason: string };

/** A connection status. */
export type ConnectionStatus = ConnectionState['status'];

/**
 * Why the state changed.
 *
 * - `connect`: the app called `connect()`.
 * - `retry`: the backoff delay elapsed.
 * - `online`: the browser came back online while waiting to retry.
 * - `visible`: a hidden page became visible with a connection that missed heartbeats, or
 *   while waiting to retry.
 * - `welcome`: the server accepted the connection.
 * - `socket-closed`: the socket closed (by the server or the network).
 * - `socket-error`: the socket could not be created (bad URL...).
 * - `connect-timeout`: no `welcome` within `timeouts.connectMs`.
 * - `heartbeat-timeout`: nothing from the server within the heartbeat timeout (half-open).
 * - `token-error`: the token provider threw.
 * - `terminal-close`: the close code is not retryable.
 * - `max-attempts`: `reconnect.maxAttempts` retries were made.
 * - `app-close`: the app called `close()`.
 */
export type TransitionReason =
  | 'connect'
  | 'retry'
  | 'online'
  | 'visible'
  | 'welcome'
  | 'socket-closed'
  | 'socket-error'
  | 'connect-timeout'
  | 'heartbeat-timeout'
  | 'token-error'
  | 'terminal-close'
  | 'max-attempts'
  | 'app-close';

/** The payload of the `'state'` event. */
export interface StateChange {
  prev: ConnectionState;
  next: ConnectionState;
  reason: TransitionReason;
}

/**
 * Whether the state machine allows going from `prev` to `next` (the transitions the client
 * makes; anything else is a bug: the client tests check every transition they see): never to
 * the same status nor back to `idle`; a stopped client (`idle`, `closed`, `failed`) only starts
 * connecting or closes; only a `connecting` one becomes `connected`.
 */
export function canTransition(prev: ConnectionStatus, next: ConnectionStatus): boolean {
  if (next === prev || next === 'idle') return false;
  if (prev === 'idle' || prev === 'closed' || prev === 'failed') {
    return next === 'connecting' || next === 'closed';
  }
  return next !== 'connected' || prev === 'connecting';
}
