import { randomBytes } from 'node:crypto';
import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { HoldfastServer, MessageWriter } from '@holdfast/server';
import type { Demo, Run, RunDelta } from '../shared/protocol.js';
import { agentRun, runStart } from './agent.js';

/** Bounds of the simulated agent runs. */
export interface RunLimits {
  /** Runs one user may have going at once. @default 2 */
  runsPerUser?: number;
  /** Runs going at once on this node, all users together. @default 200 */
  runsTotal?: number;
}

/** What a run is asked to do (the `startRun` request, with its defaults applied). */
export interface RunRequest {
  steps: number;
  intervalMs: number;
  task: string;
  /** Tokens of the answer. */
  tokens: number;
}

interface Going {
  user: string;
  sessionId: string;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
  writer: MessageWriter<Run, RunDelta> | undefined;
}

/**
 * The agent runs of a node. A run is one message that grows by appends (plan, steps, the answer
 * token by token, the total) in a room of its own named after it (`run-…`): the session that
 * started it joins that room, and any other session (another tab, another device) may join it
 * too and gets the run as it stands, then the rest live. At most `runsPerUser` per user and
 * `runsTotal` in all; a run stops (and its message ends, marked `stopped`) when the session that
 * started it ends. Steps per run and the pace are bounded by the protocol's schema.
 */
export class Runs {
  readonly #server: HoldfastServer<Demo>;
  readonly #perUser: number;
  readonly #total: number;
  readonly #runs = new Map<string, Going>();

  constructor(server: HoldfastServer<Demo>, limits: RunLimits = {}) {
    this.#server = server;
    this.#perUser = limits.runsPerUser ?? 2;
    this.#total = limits.runsTotal ?? 200;
  }

  /** How many runs are going (all users). */
  get size(): number {
    return this.#runs.size;
  }

  /**
   * Start a run for a session (which joins the run's room), or refuse it (`LIMIT_EXCEEDED`) past
   * a bound. Resolves with the run's id (also its room's name) once its message has started.
   */
  async start(sessionId: string, user: string, req: RunRequest): Promise<string> {
    let mine = 0;
    for (const r of this.#runs.values()) if (r.user === user) mine += 1;
    if (mine >= this.#perUser)
      throw new HoldfastError(ErrorCode.LimitExceeded, `At most ${this.#perUser} runs at once per user`);
    if (this.#runs.size >= this.#total)
      throw new HoldfastError(ErrorCode.LimitExceeded, 'The demo is busy: try again in a minute');
    const runId = `run-${randomBytes(4).toString('hex')}`;
    const run: Going = { user, sessionId, timer: undefined, stopped: false, writer: undefined };
    this.#runs.set(runId, run);
    try {
      await this.#server.join(sessionId, runId);
      run.writer = await this.#server.startMessage(
        { room: runId },
        'run',
        runStart(runId, req.task, req.steps, req.tokens),
      );
    } catch (err) {
      this.#runs.delete(runId);
      throw err;
    }
    const deltas = agentRun(req.task, req.steps, req.tokens);
    let item = deltas.next();
    const next = (): void => {
      run.timer = undefined;
      const writer = run.writer;
      if (run.stopped || !writer) return;
      const current = item;
      if (current.done) return this.#forget(runId);
      item = deltas.next();
      // The last delta ends the message; every append is awaited before the next is paced.
      const sent = item.done ? writer.end(current.value) : writer.append(current.value);
      sent.then(
        () => {
          if (item.done) return this.#forget(runId);
          if (!run.stopped) run.timer = setTimeout(next, req.intervalMs);
        },
        () => this.#forget(runId), // the message was dropped (MESSAGE_CLOSED) or the server is closing
      );
    };
    run.timer = setTimeout(next, req.intervalMs);
    return runId;
  }

  /** Stop every run of a session (it ended): their messages end, marked stopped. */
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
    const writer = run.writer;
    this.#forget(runId);
    if (writer && !writer.done) {
      const cost = writer.value.steps.reduce((a, s) => a + s.costUsd, 0);
      writer
        .end({ kind: 'final', totalCostUsd: Math.round(cost * 1e6) / 1e6, stopped: true })
        .catch(() => undefined);
    }
  }

  #forget(runId: string): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    run.stopped = true;
    clearTimeout(run.timer);
    this.#runs.delete(runId);
  }
}
