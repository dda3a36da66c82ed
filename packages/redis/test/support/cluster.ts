import { fileURLToPath } from 'node:url';
import { ChildServer } from '@holdfast/testkit';

/** What a node process is told at start. */
export interface NodeConfig {
  name: string;
  redisUrl: string;
  /** Redis Cluster node URLs (instead of `redisUrl`). */
  clusterNodes?: string[];
  prefix: string;
  connectionsPerUser?: number;
  resumeWindowMs?: number;
  sessionLeaseMs?: number;
  slotTtlMs?: number;
  handlerClaimMs?: number;
}

/** The commands a node process answers (see node-main.ts). */
export type NodeCommand = 'stats' | 'waitReady' | 'sendToRoom' | 'broadcast' | 'close';

/**
 * A Holdfast server on a RedisEngine in a child process of its own (so it can be killed
 * with SIGKILL): testkit's {@link ChildServer} running node-main.ts from the TypeScript
 * sources.
 */
export type NodeProcess = ChildServer<NodeConfig, NodeCommand>;

const MAIN = fileURLToPath(new URL('./node-main.ts', import.meta.url));

/** Start node processes. */
export const NodeProcess = {
  /** Start a node and wait until it listens. */
  start(config: NodeConfig): Promise<NodeProcess> {
    return ChildServer.start<NodeConfig, NodeCommand>({
      name: config.name,
      main: MAIN,
      config,
      configEnv: 'HOLDFAST_NODE',
      run: 'source',
      closeCommand: 'close',
    });
  },
};
