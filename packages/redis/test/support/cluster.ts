import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a node process is told at start. */
export interface NodeConfig {
  name: string;
  redisUrl: string;
  prefix: string;
  connectionsPerUser?: number;
  resumeWindowMs?: number;
  sessionLeaseMs?: number;
  slotTtlMs?: number;
  handlerClaimMs?: number;
}

/** A request to a node process. */
export interface NodeRequest {
  id: number;
  cmd: 'stats' | 'waitReady' | 'sendToRoom' | 'broadcast' | 'close';
  args: unknown[];
}

/** What a node process sends back. */
export type NodeReply =
  | { type: 'ready'; url: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

const MAIN = fileURLToPath(new URL('./node-main.ts', import.meta.url));
const HOOKS = new URL('./register-ts.mjs', import.meta.url).href;

/**
 * A Holdfast server on a RedisEngine in a child process of its own (so it can be killed
 * with SIGKILL). The child runs the TypeScript sources through `register-ts.mjs`; the
 * `holdfast-source` condition resolves the workspace packages to their sources too.
 */
export class NodeProcess {
  url = '';
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly exited: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve();
      });
    });
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    proc.on('message', (raw) => {
      const m = raw as NodeReply;
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
  }

  /** Start a node and wait until it listens. */
  static async start(config: NodeConfig): Promise<NodeProcess> {
    const proc = spawn(
      process.execPath,
      ['--conditions=holdfast-source', '--enable-source-maps', '--import', HOOKS, MAIN],
      {
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        env: { ...process.env, HOLDFAST_NODE: JSON.stringify(config) },
      },
    );
    const node = new NodeProcess(config.name, proc);
    node.url = await new Promise<string>((resolve, reject) => {
      proc.on('message', (raw) => {
        const m = raw as NodeReply;
        if (m.type === 'ready') resolve(m.url);
      });
      void node.exited.then(() => reject(new Error(`${config.name} exited before ready:\n${node.stderr}`)));
    });
    return node;
  }

  /** Ask the node something over IPC. */
  request<T>(cmd: NodeRequest['cmd'], ...args: unknown[]): Promise<T> {
    if (this.exit) return Promise.reject(new Error(`${this.name} has exited`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args } satisfies NodeRequest);
    });
  }

  /** Send a signal; for SIGKILL, wait until the process is gone. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.exit) return;
    this.proc.kill(signal);
    if (signal === 'SIGKILL') await this.exited;
  }

  /** Close the server gracefully (or kill it if it does not answer). */
  async stop(): Promise<void> {
    if (this.exit) return;
    await Promise.race([this.request('close').catch(() => undefined), this.exited]);
    if (!this.exit) await this.signal('SIGKILL');
    await this.exited;
  }
}
