/**
 * A small RPC over Node's child-process IPC channel. The orchestrator drives the server and the
 * load generator with it; children report events (e.g. delivery progress) the same way.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

type Wire =
  | { kind: 'call'; id: number; method: string; params: unknown }
  | { kind: 'notify'; method: string; params: unknown }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: string }
  | { kind: 'event'; name: string; data: unknown };

/** Handlers a child serves; each receives the params of its call. */
export type Handlers = Record<string, (params: any) => unknown>;

/**
 * Serve RPC calls from the parent in a child process. Returns a function that emits events
 * to the parent. Sends a `ready` event once listening.
 */
export function serveRpc(handlers: Handlers): (name: string, data: unknown) => void {
  const send = (m: Wire) => process.send?.(m);
  process.on('message', (raw: Wire) => {
    if (raw.kind !== 'call' && raw.kind !== 'notify') return;
    const handler = handlers[raw.method];
    if (raw.kind === 'notify') {
      handler?.(raw.params);
      return;
    }
    const { id } = raw;
    if (!handler) {
      send({ kind: 'result', id, ok: false, error: `no method ${raw.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(raw.params))
      .then(
        (value) => send({ kind: 'result', id, ok: true, value: value ?? null }),
        (err: unknown) =>
          send({
            kind: 'result',
            id,
            ok: false,
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      );
  });
  // The parent going away ends the child: no orphan keeps ports or cores busy.
  process.on('disconnect', () => process.exit(0));
  const emit = (name: string, data: unknown) => send({ kind: 'event', name, data });
  emit('ready', { pid: process.pid });
  return emit;
}

let tasksetChecked: boolean | undefined;

/** Whether processes can be pinned to separate cores (`taskset` present and at least 2 cores). */
export function canPin(): boolean {
  tasksetChecked ??=
    availableParallelism() >= 2 && spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
  return tasksetChecked;
}

/** Pin the current process (all its threads) to one core, when possible. */
export function pinSelf(core: number): boolean {
  if (!canPin()) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)]).status === 0;
}

/** Options of {@link ChildRpc.spawn}. */
export interface SpawnOptions {
  /** Name used in error messages. */
  name: string;
  /** Core to pin the child to (ignored without `taskset`). */
  core?: number;
  /** Extra Node flags, e.g. `--expose-gc`. */
  nodeArgs?: string[];
  /** How long to wait for the child's `ready` event (ms). @default 20000 */
  readyTimeoutMs?: number;
}

/** A child process driven over IPC. */
export class ChildRpc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, ((data: any) => void)[]>();
  private exited: string | undefined;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (m: Wire) => {
      if (m.kind === 'result') {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(new Error(`${name}: ${m.error}`));
      } else if (m.kind === 'event') {
        for (const fn of this.listeners.get(m.name) ?? []) fn(m.data);
      }
    });
    child.on('error', (err) => this.failAll(err));
    this.exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = `${name} exited (code ${code}, signal ${signal})`;
        this.failAll(new Error(this.exited));
        resolve();
      });
    });
  }

  /** Spawn `script` with Node (pinned with `taskset` when possible) and wait for its `ready` event. */
  static async spawn(script: string, options: SpawnOptions): Promise<ChildRpc> {
    const node = [...(options.nodeArgs ?? []), script];
    const pinned = options.core !== undefined && canPin();
    const child = pinned
      ? spawn('taskset', ['-c', String(options.core), process.execPath, ...node], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        })
      : spawn(process.execPath, node, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const rpc = new ChildRpc(child, options.name);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} not ready in time`)),
        options.readyTimeoutMs ?? 20_000,
      );
      rpc.on('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      rpc.exitPromise.then(() => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited before it was ready`));
      });
    });
    return rpc;
  }

  /** Listen to an event the child emits. */
  on(name: string, fn: (data: any) => void): () => void {
    const list = this.listeners.get(name) ?? [];
    list.push(fn);
    this.listeners.set(name, list);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Call a method of the child; rejects after `timeoutMs` (default 120 s). */
  call<T = unknown>(method: string, params: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}.${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send({ kind: 'call', id, method, params } satisfies Wire);
    });
  }

  /** Send a one-way message (no answer). */
  notify(method: string, params: unknown): void {
    if (!this.exited && this.child.connected)
      this.child.send({ kind: 'notify', method, params } satisfies Wire);
  }

  /** Ask the child to exit, and kill it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
