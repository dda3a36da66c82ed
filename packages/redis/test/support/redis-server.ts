import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createClient } from 'redis';

const BINARY = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** Whether tests can start (and kill, and restart) their own redis-server. */
export const canSpawnRedis = BINARY !== undefined;

let prefixes = 0;
/** A key prefix unique to this run and call. */
export function uniquePrefix(): string {
  prefixes += 1;
  return `hft:${process.pid}:${randomBytes(4).toString('hex')}:${prefixes}:`;
}

/**
 * A free port below the ephemeral range. A client reconnecting to a stopped Redis on a port
 * of the ephemeral range can be given that very port as its own and connect to itself (TCP
 * simultaneous open), which would look like a Redis answering with echoes.
 *
 * `alsoFree`: an offset whose port must be free and below the ephemeral range too (a Redis
 * Cluster node also listens on its port + 10000, its bus: in the ephemeral range, any outgoing
 * connection of the machine may hold it, and the node then fails to start).
 */
export async function freePort(alsoFree = 0): Promise<number> {
  let low = 32768;
  try {
    low = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: keep the usual lower bound.
  }
  const min = 10_000;
  const max = Math.max(min + 1000, low - 1 - alsoFree);
  for (;;) {
    const port = min + Math.floor(Math.random() * (max - min));
    if ((await isFree(port)) && (alsoFree === 0 || (await isFree(port + alsoFree)))) return port;
  }
}

/** Whether a TCP port of 127.0.0.1 can be listened on now. */
async function isFree(port: number): Promise<boolean> {
  const srv = createServer();
  const free = await new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => srv.close(() => resolve()));
  return free;
}

/**
 * A Redis for tests: a `redis-server` started on a free port (nothing persisted), or the one
 * at `REDIS_URL` when no binary exists (then it cannot be killed or restarted).
 */
export class TestRedis {
  private proc: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly url: string,
    readonly port: number,
  ) {}

  /** Start one. */
  static async start(): Promise<TestRedis> {
    if (!BINARY) {
      const url = process.env.REDIS_URL;
      if (!url) throw new Error('no redis-server binary and no REDIS_URL');
      return new TestRedis(url, Number(new URL(url).port || 6379));
    }
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const r = new TestRedis(`redis://127.0.0.1:${port}`, port);
      try {
        await r.spawn();
        return r;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  /** Whether this one can be killed and restarted. */
  get owned(): boolean {
    return BINARY !== undefined;
  }

  private async spawn(): Promise<void> {
    const proc = spawn(
      BINARY!,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'notice',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    this.output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        this.output += chunk.toString();
        if (this.output.includes('Ready to accept connections')) {
          proc.stdout!.off('data', onData);
          proc.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) =>
        reject(new Error(`redis-server exited (${code}) on port ${this.port}: ${this.output}`));
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', (c: Buffer) => {
        this.output += c.toString();
      });
      proc.once('exit', onExit);
    });
    // Keep draining its output so the pipe never fills.
    proc.stdout!.resume();
  }

  /** Kill it at once (SIGKILL): everything it held is lost. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  }

  /** Start it again on the same port, empty. */
  async restart(): Promise<void> {
    if (!this.owned) throw new Error('cannot restart the Redis at REDIS_URL');
    await this.kill();
    await this.spawn();
  }

  /** Run one Redis command on a connection of its own (for assertions). */
  async command(args: string[]): Promise<unknown> {
    const c = createClient({ url: this.url });
    c.on('error', () => {});
    await c.connect();
    try {
      return await c.sendCommand(args);
    } finally {
      await c.close();
    }
  }

  /** Stop it (or, for REDIS_URL, delete the keys under `prefix`). */
  async stop(prefix?: string): Promise<void> {
    if (this.owned) return this.kill();
    if (!prefix) return;
    let cursor = '0';
    do {
      const [next, keys] = (await this.command(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
        string,
        string[],
      ];
      if (keys.length) await this.command(['DEL', ...keys]);
      cursor = next;
    } while (cursor !== '0');
  }
}
