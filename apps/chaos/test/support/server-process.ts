import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What a child server is told at start (see server-main.mjs). */
export interface ServerConfig {
  /** Names this incarnation; ticks it publishes carry it as their stream `s`. */
  name: string;
  port: number;
  /** File the `note` handler appends its runs to (`H <name> <c> <k>`). */
  handledLog: string;
  heartbeat?: { intervalMs: number; timeoutMs: number };
  sweepIntervalMs?: number;
  resumeWindowMs?: number;
  /** Notes with `pad: 'slow'` take this long in their handler. */
  slowNoteMs?: number;
  limits?: Record<string, number>;
}

type Reply =
  | { type: 'ready'; port: number; pid: number }
  | { type: 'reply'; id: number; ok: boolean; value?: unknown; error?: string };

const MAIN = fileURLToPath(new URL('./server-main.mjs', import.meta.url));

/** Fail early, and clearly, when the packages were not built. */
function assertBuilt(): void {
  const require = createRequire(MAIN);
  const main = require.resolve('@holdfast/server');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`pnpm build\` before the chaos suite`);
}

/** A Holdfast server (the built package) in a child process, killable with signals. */
export class ServerProcess {
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  readonly exited: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly config: ServerConfig,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        for (const p of this.pending.values())
          p.reject(new Error(`${config.name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve();
      });
    });
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    proc.on('message', (raw) => {
      const m = raw as Reply;
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
  }

  /** Start a server process and wait until it listens. */
  static async start(config: ServerConfig): Promise<ServerProcess> {
    assertBuilt();
    const env: NodeJS.ProcessEnv = { ...process.env, CHAOS_SERVER: JSON.stringify(config) };
    // The child must load the built packages, whatever conditions this process runs with.
    delete env.NODE_OPTIONS;
    const proc = spawn(process.execPath, ['--enable-source-maps', MAIN], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env,
    });
    const node = new ServerProcess(config, proc);
    await new Promise<void>((resolve, reject) => {
      proc.on('message', (raw) => {
        if ((raw as Reply).type === 'ready') resolve();
      });
      void node.exited.then(() => reject(new Error(`${config.name} exited before ready:\n${node.stderr}`)));
    });
    return node;
  }

  /** Ask the server something over IPC. */
  request<T>(cmd: 'pump' | 'stopPump' | 'stats' | 'roomConnections', ...args: unknown[]): Promise<T> {
    if (this.exit) return Promise.reject(new Error(`${this.config.name} has exited`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args });
    });
  }

  /** Send a signal; resolves once the process is gone. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.exit) this.proc.kill(signal);
    await this.exited;
  }

  /** Stop for good (test cleanup). */
  async stop(): Promise<void> {
    if (this.exit) return;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** One `note` handler run, as logged by a child server. */
export interface LoggedRun {
  server: string;
  c: string;
  k: number;
}

/** Parse a handled log: runs (`H`), completions of slow handlers (`D`), and other lines. */
export function readLog(path: string): { runs: LoggedRun[]; done: LoggedRun[]; lines: string[] } {
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  const parse = (l: string): LoggedRun => {
    const [, server, c, k] = l.split(' ');
    return { server: server!, c: c!, k: Number(k) };
  };
  return {
    runs: lines.filter((l) => l.startsWith('H ')).map(parse),
    done: lines.filter((l) => l.startsWith('D ')).map(parse),
    lines,
  };
}
