/** A snapshot of the engine's health, for stats and readiness probes. */
export interface RedisEngineStatus {
  /** This node's id. */
  nodeId: string;
  /** Whether the commands connection is up. */
  commands: 'ready' | 'down';
  /** Whether the pub/sub connection is up. */
  subscriber: 'ready' | 'down';
  /** Operations that failed (each also reaches its caller as an error). */
  errors: number;
  /** Connection errors reported by the Redis clients (one per failed attempt). */
  connectionErrors: number;
  /** Successful reconnections after a connection was lost. */
  reconnects: number;
  /** Streams watched (subscribed) by this node. */
  watchedStreams: number;
  /** Sessions whose lease this node renews (connected here). */
  leasedSessions: number;
  /** Per-user connection slots this node renews. */
  slots: number;
  /** The last error's message, if any. */
  lastError: string | undefined;
  /** Both connections up and answering the health probe (this node can serve clients). */
  healthy: boolean;
  /** A connection is up but did not answer the health probe in time (cut off from Redis). */
  partitioned: boolean;
  /** Partitions detected since start. */
  partitions: number;
  /** How long the last partition took to detect, from the unanswered probe (ms). */
  lastPartitionDetectionMs: number | undefined;
}
