import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { freePort } from './redis-server.js';

const SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
const CLI = ['/usr/bin/redis-cli', '/usr/local/bin/redis-cli'].find((p) => existsSync(p));

/** Whether tests can start a local Redis Cluster (both binaries exist). */
export const canStartCluster = SERVER !== undefined && CLI !== undefined;

/**
 * A real local Redis Cluster for tests: three masters (`redis-server --cluster-enabled yes`
 * on free ports, nothing persisted) joined by `redis-cli --cluster create`, in a temporary
 * directory removed at stop.
 */
export class TestCluster {
  private constructor(
    readonly ports: number[],
    private readonly procs: ChildProcess[],
    private readonly dir: string,
  ) {}

  /** The nodes' URLs. */
  get urls(): string[] {
    return this.ports.map((p) => `redis://127.0.0.1:${p}`);
  }

  /** Start three masters and form the cluster; resolves once every slot is served. */
  static async start(): Promise<TestCluster> {
    if (!SERVER || !CLI) throw new Error('redis-server and redis-cli are needed');
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-cluster-'));
    const ports: number[] = [];
    const procs: ChildProcess[] = [];
    for (let i = 0; i < 3; i++) {
      // Its cluster bus listens on port + 10000: free, and below the ephemeral range too.
      const port = await freePort(10_000);
      const proc = spawn(
        SERVER,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        };
        proc.stdout!.on('data', onData);
        proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)));
      });
      proc.stdout!.resume();
      proc.stderr!.resume();
      ports.push(port);
      procs.push(proc);
    }
    const cluster = new TestCluster(ports, procs, dir);
    await promisify(execFile)(CLI, [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await cluster.untilReady();
    return cluster;
  }

  /** Every node reports `cluster_state:ok` (the gossip has spread the slot map). */
  private async untilReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const url of this.urls) {
      const c = createClient({ url });
      c.on('error', () => {});
      await c.connect();
      try {
        for (;;) {
          const info = String(await c.sendCommand(['CLUSTER', 'INFO']));
          if (info.includes('cluster_state:ok')) break;
          if (Date.now() > deadline) throw new Error(`cluster not ready: ${info}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await c.close();
      }
    }
  }

  /** Kill every node and remove the directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = once(p, 'exit');
        p.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(this.dir, { recursive: true, force: true });
  }
}
