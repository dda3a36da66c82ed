/** Names and parameters shared by the orchestrator, the server process and the load generator. */

/**
 * What is measured. `ws-frame` is `ws` with the frame built once per broadcast; `ws-cork` adds
 * corking each socket until the end of the tick (Holdfast's trick); `uws` is uWebSockets.js with
 * its C++ `publish`. `holdfast` is one node on the in-memory engine; the multi-node scenario adds
 * `holdfast-redis` (one node on the Redis engine) and `holdfast-cluster` (several nodes on Redis).
 * The appends scenario compares `holdfast` (an answer as one growing message) with
 * `holdfast-plain` (one message per token).
 */
export type TargetName =
  | 'ws'
  | 'ws-frame'
  | 'ws-cork'
  | 'uws'
  | 'socketio'
  | 'holdfast'
  | 'holdfast-redis'
  | 'holdfast-cluster'
  | 'holdfast-plain';

/** Every target, in the order they run within a round. */
export const ALL_TARGETS: readonly TargetName[] = [
  'ws-cork',
  'uws',
  'ws-frame',
  'ws',
  'socketio',
  'holdfast',
  'holdfast-redis',
  'holdfast-cluster',
  'holdfast-plain',
];

/** The wire protocol a target's clients speak. */
export type WireProtocol = 'ws' | 'socketio' | 'holdfast';

/** The protocol the load generator speaks to a target. */
export function wireOf(target: TargetName): WireProtocol {
  if (target === 'ws-frame' || target === 'ws-cork' || target === 'uws') return 'ws';
  if (target === 'holdfast-redis' || target === 'holdfast-cluster' || target === 'holdfast-plain')
    return 'holdfast';
  return target;
}

/** Parameters of the server process's `start`. */
export interface ServerStart {
  target: TargetName;
  /** Socket.IO: enable connection state recovery. */
  recovery?: boolean;
  /**
   * Holdfast: the Redis engine instead of the in-memory one (multi-node). `prefix` starts every
   * key and channel: the same on every node of a run, new for every run.
   */
  engine?: { kind: 'redis'; url: string; prefix: string };
}

/** Parameters of the load generator's `connect`. */
export interface LoadConnect {
  wire: WireProtocol;
  /** Server URLs; connection i goes to urls[i % urls.length]. */
  urls: string[];
  n: number;
  /** 0: every connection receives broadcasts; k > 0: connection i joins room `r${i % k}`. */
  rooms: number;
  /** Socket.IO: the server appends recovery offsets to events. */
  recovery?: boolean;
  /** Holdfast: when clients ack (default: 500 messages or 1 s, as the protocol says). */
  ack?: { every: number; delayMs: number };
  /** Handshakes in flight at once. */
  concurrency?: number;
}

/** Delivery check of a phase. */
export interface DeliveryCheck {
  /** Messages published in the checked range (all channels). */
  messages: number;
  /** Deliveries received in the range. */
  deliveries: number;
  /** Deliveries missing (expected minus received, per message id). */
  lost: number;
  /** Messages a connection received twice (or out of order). */
  duplicates: number;
}
