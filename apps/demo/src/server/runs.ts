import { randomBytes } from 'node:crypto';
import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { HoldfastServer } from '@holdfast/server';
import type { Demo } from '../shared/protocol.js';
import { agentRun } from './agent.js';

/** Bounds of the simulated agent runs. */
export interface RunLimits {
  /** Runs one user may have going at once. @default 2 */
  runsPerUser?: number;
  /** Runs going at once on this node, all users together. @default 200 */
  runsTotal?: number;
}

interface Run {
  user: string;
  sessionId: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
}

/**
 * The agent runs of a node: each streams its events to the session that started it, at most
 * `runsPerUser` per user and `runsTotal` in all, and stops when its session ends (or when a send
 * reaches nobody). Steps per run and the pace are bounded by the protocol's schema.
 */
export class Runs {
  readonly #server: HoldfastServer<Demo>;
  readonly #perUser: number;
  readonly #total: number;
  readonly #runs = new Map<string, Run>();

  constructor(server: HoldfastServer<Demo>, limits: RunLimits = {}) {
    this.#server = server;
    this.#perUser = limits.runsPerUser ?? 2;
    this.#total = limits.runsTotal ?? 200;
  }

  /** How many runs are going (all users). */
  get size(): number {
    return this.#runs.size;
  }

  /** Start a run for a session, or refuse it (`LIMIT_EXCEEDED`) past a bound. */
  start(sessionId: string, user: string, steps: number, intervalMs: number, task: string): string {
    let mine = 0;
    for (const r of this.#runs.values()) if (r.user === user) mine += 1;
    if (mine >= this.#perUser)
      throw new HoldfastError(ErrorCode.LimitExceeded, `At most ${this.#perUser} runs at once per user`);
    if (this.#runs.size >= this.#total)
      throw new HoldfastError(ErrorCode.LimitExceeded, 'The demo is busy: try again in a minute');
    const runId = `run-${randomBytes(4).toString('hex')}`;
    const run: Run = { user, sessionId, timer: undefined, stopped: false };
    this.#runs.set(runId, run);
    const events = agentRun(runId, task, steps);
    const next = (): void => {
      run.timer = undefined;
      if (run.stopped) return;
      const item = events.next();
      if (item.done) return this.#stop(runId);
      this.#server.sendToSession(sessionId, 'agent', item.value).then(
        (n) => {
          if (n === 0 || run.stopped) return this.#stop(runId); // the session is gone
          run.timer = setTimeout(next, intervalMs);
        },
        () => this.#stop(runId),
      );
    };
    next();
    return runId;
  }

  /** Stop every run of a session (it ended). */
  stopSession(sessionId: string): void {
    for (const [id, r] of this.#runs) if (r.sessionId === sessionId) this.#stop(id);
  }

  /** Stop everything. */
  close(): void {
    for (const id of [...this.#runs.keys()]) this.#stop(id);
  }

  #stop(runId: string): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    run.stopped = true;
    clearTimeout(run.timer);
    this.#runs.delete(runId);
  }
}
