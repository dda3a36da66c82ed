/** Sizes and durations of a full run and of the smoke run. */
export interface BenchConfig {
  mode: 'full' | 'smoke';
  /** Rounds run first and discarded. */
  warmup: number;
  /** Measured rounds (medians are taken over these). */
  reps: number;
  fanout: {
    /** Connection counts, one scenario each. */
    sizes: number[];
    /** Closed-loop throughput phase (ms). */
    floodMs: number;
    /** Open-loop latency phase (ms). */
    latencyMs: number;
    /** Deliveries in flight at most in the closed loop, as messages x connections. */
    windowDeliveries: number;
  };
  echo: { connections: number; durationMs: number; latencyMs: number };
  memory: { connections: number; rooms: number; settleMs: number };
  storm: {
    connections: number;
    rooms: number;
    /** Messages per second the server publishes (round-robin over the rooms). */
    rate: number;
    steadyMs: number;
    jitterMs: number;
    timeoutMs: number;
  };
  /**
   * Scenario 5. `enabled`: `'auto'` runs it when `@holdfast/redis` is built and Redis answers at
   * `redisUrl` (else it is reported as skipped), `true` requires it (a skip is a failure), `false`
   * leaves it out.
   */
  multinode: {
    enabled: boolean | 'auto';
    nodes: number;
    redisUrl: string;
    /**
     * Pin node _i_ to core _i_ mod the cores (node 0 on the server's core, node 1 on the load
     * generator's, ...) instead of every node on the server's core (`--multinode-spread`, or
     * `BENCH_MULTINODE_SPREAD=1` in the orchestrator's environment). @default false
     */
    spread?: boolean;
  };
  /**
   * Scenario 6 (issue 19): one answer of `tokens` tokens at `rate` per second to `viewers` viewers,
   * `late` of them joining at half-way, `reconnect` of the others dropping their socket at a quarter
   * and resuming `downMs` later.
   */
  appends: { tokens: number; rate: number; viewers: number; late: number; reconnect: number; downMs: number };
}

/** The full run (`pnpm bench`): well under 30 minutes on 2 cores. */
export const FULL: BenchConfig = {
  mode: 'full',
  warmup: 1,
  reps: 3,
  fanout: { sizes: [1000, 5000], floodMs: 3000, latencyMs: 3000, windowDeliveries: 64_000 },
  echo: { connections: 100, durationMs: 3000, latencyMs: 2000 },
  memory: { connections: 10_000, rooms: 100, settleMs: 1000 },
  storm: { connections: 5000, rooms: 50, rate: 200, steadyMs: 2000, jitterMs: 3000, timeoutMs: 60_000 },
  multinode: { enabled: 'auto', nodes: 3, redisUrl: 'redis://127.0.0.1:6379' },
  appends: { tokens: 20_000, rate: 500, viewers: 1000, late: 100, reconnect: 100, downMs: 1000 },
};

/** The smoke run (inside `pnpm test`): tiny sizes, one round, a few seconds per scenario. */
export const SMOKE: BenchConfig = {
  mode: 'smoke',
  warmup: 0,
  reps: 1,
  fanout: { sizes: [20], floodMs: 300, latencyMs: 300, windowDeliveries: 2000 },
  echo: { connections: 5, durationMs: 300, latencyMs: 200 },
  memory: { connections: 50, rooms: 5, settleMs: 100 },
  storm: { connections: 20, rooms: 2, rate: 100, steadyMs: 300, jitterMs: 200, timeoutMs: 20_000 },
  multinode: { enabled: 'auto', nodes: 3, redisUrl: 'redis://127.0.0.1:6379' },
  appends: { tokens: 400, rate: 500, viewers: 20, late: 4, reconnect: 4, downMs: 100 },
};
