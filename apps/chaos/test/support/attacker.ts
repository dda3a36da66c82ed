import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./flood-main.mjs', import.meta.url));

/** How a batch of flood connections ended. */
export interface ConnectionOutcomes {
  welcome: number;
  closes: Record<string, number>;
  errors: number;
  reasons: string[];
}

/** What a frame blast achieved. */
export interface BlastReport {
  connections: number;
  framesSent: number;
  answered: number;
  closes: Record<string, number>;
  reasons: string[];
}

/** The flood generator (flood-main.mjs) in a child process. */
export class Attacker {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly proc: ChildProcess) {
    proc.on('message', (raw) => {
      const m = raw as { id?: number; ok?: boolean; value?: unknown; error?: string };
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.value);
      else p?.reject(new Error(m.error));
    });
    proc.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('attacker exited'));
    });
  }

  static async start(): Promise<Attacker> {
    const proc = spawn(process.execPath, [MAIN], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve());
      proc.once('exit', (code) => reject(new Error(`attacker exited early (${code})`)));
    });
    return new Attacker(proc);
  }

  private request<T>(cmd: string, url: string, args: unknown): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, url, args });
    });
  }

  /** Open `count` connections from `localAddress` (round-robin over a list); welcomed ones are held open. */
  connections(
    url: string,
    args: { count: number; localAddress: string | string[]; hello: boolean; concurrency: number },
  ): Promise<ConnectionOutcomes> {
    return this.request('connections', url, args);
  }

  /** Send `ratePerSec` frames per second for `durationMs`, reconnecting at once when cut. */
  blast(
    url: string,
    args: { localAddress: string; ratePerSec: number; durationMs: number },
  ): Promise<BlastReport> {
    return this.request('blast', url, args);
  }

  /** Drop every held connection. */
  closeAll(url: string): Promise<number> {
    return this.request('closeAll', url, {});
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }
}
