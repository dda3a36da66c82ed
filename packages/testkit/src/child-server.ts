import { type ChildProcess, spawn } from 'node:child_process';

/** How the child runs the workspace packages. */
export type ChildRun =
  /** The TypeScript sources, through testkit's hooks and the `holdfast-source` condition. */
  | 'source'
  /** The built packages (`packages/*\/dist`): run `pnpm build` first. */
  | 'built';

/** Options of {@link ChildServer.start}. */
export interface ChildServerOptions<Config> {
  /** Names the child in errors. */
  name: string;
  /** Path of the child's entry module (`.ts` in `source` mode, `.mjs` in either). */
  main: string;
  /** Handed to the child as JSON in the environment variable `configEnv`. */
  config: Config;
  /** Name of the environment variable that carries `config`. */
  configEnv: string;
  /** Sources or built packages. */
  run: ChildRun;
  /** A command that closes the child gracefully, asked by `stop()` before SIGKILL. */
  closeCommand?: string;
}

/** What a child sends over IPC (see {@link serveParent}). */
export type ChildMessage =
  | { type: 'ready'; url?: string; [key: string]: unknown }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

/** A request to a child over IPC. */
export interface ChildRequest {
  id: number;
  cmd: string;
  args: unknown[];
}

const HOOKS = new URL('../hooks/register-ts.mjs', import.meta.url).href;

/**
 * A test server in a child process of its own, so a test can SIGKILL, SIGSTOP or SIGTERM it:
 * the one spawner of the chaos and Redis suites. The child tells it is listening with a
 * `ready` message and answers requests over the IPC channel ({@link serveParent} is the
 * child's side); its stderr is kept for failure messages.
 *
 * @example
 * ```ts
 * const node = await ChildServer.start({ name: 'a', main, config, configEnv: 'NODE_CONFIG', run: 'source' });
 * await node.request('stats');
 * await node.kill('SIGKILL');
 * ```
 */
export class ChildServer<Config, Cmd extends string = string> {
  /** The child's `ready` message (`url` and whatever else it sent). */
  ready: { url?: string; [key: string]: unknown } = {};
  /** Everything the child wrote to stderr. */
  stderr = '';
  /** How and when the child exited (undefined while it runs). */
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    /** The child's name. */
    readonly name: string,
    /** What the child was told at start. */
    readonly config: Config,
    /** The child process. */
    readonly proc: ChildProcess,
    private readonly closeCommand: string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
        this.pending.clear();
        resolve();
      });
    });
    proc.on('error', (err) => {
      this.stderr += `spawn error: ${err.message}\n`;
    });
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    proc.on('message', (raw) => {
      const m = raw as ChildMessage;
      if (m.type !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
  }

  /** Start a child and wait until it says it is ready. */
  static async start<Config, Cmd extends string = string>(
    options: ChildServerOptions<Config>,
  ): Promise<ChildServer<Config, Cmd>> {
    const env: NodeJS.ProcessEnv = { ...process.env, [options.configEnv]: JSON.stringify(options.config) };
    const execArgv = ['--enable-source-maps'];
    if (options.run === 'source') execArgv.unshift('--conditions=holdfast-source', '--import', HOOKS);
    // A built child loads the built packages, whatever conditions this process runs with.
    else delete env.NODE_OPTIONS;
    const proc = spawn(process.execPath, [...execArgv, options.main], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env,
    });
    const child = new ChildServer<Config, Cmd>(options.name, options.config, proc, options.closeCommand);
    child.ready = await new Promise((resolve, reject) => {
      proc.on('message', (raw) => {
        const m = raw as ChildMessage;
        if (m.type === 'ready') resolve(m);
      });
      void child.exited.then(() =>
        reject(new Error(`${options.name} exited before ready:\n${child.stderr}`)),
      );
    });
    return child;
  }

  /** The URL the child listens on, if its `ready` message gave one. */
  get url(): string {
    return typeof this.ready.url === 'string' ? this.ready.url : '';
  }

  /** Ask the child something over IPC. */
  request<T>(cmd: Cmd, ...args: unknown[]): Promise<T> {
    if (this.exit) return Promise.reject(new Error(`${this.name} has exited`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, args } satisfies ChildRequest);
    });
  }

  /** Send a signal; for SIGKILL, wait until the process is gone. */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.exit) return;
    this.proc.kill(signal);
    if (signal === 'SIGKILL') await this.exited;
  }

  /** Send a signal and wait until the process is gone. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.exit) this.proc.kill(signal);
    await this.exited;
  }

  /** Stop for good (test cleanup): the close command if there is one, else (or then) SIGKILL. */
  async stop(): Promise<void> {
    if (this.exit) return;
    if (this.closeCommand !== undefined) {
      await Promise.race([this.request(this.closeCommand as Cmd).catch(() => undefined), this.exited]);
    }
    await this.kill('SIGKILL');
  }
}
