/**
 * The orchestrator's side of the multi-node scenario: is Redis there, how much CPU did it use,
 * and deleting a run's keys afterwards. (The server processes talk to Redis through
 * `@holdfast/redis`; this is a separate, short-lived client.)
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

type Client = ReturnType<typeof createClient>;

/** A connected client that fails fast (no reconnection, no offline queue). Close it with {@link closeRedis}. */
export async function connectRedis(url: string, timeoutMs = 1000): Promise<Client> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    disableClientInfo: true,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  // Every Redis client needs an 'error' listener, or a connection error crashes the process;
  // failures reach the caller through the rejected command instead.
  let failure: Error | undefined;
  client.on('error', (err: Error) => {
    failure ??= err;
  });
  try {
    await client.connect();
  } catch (err) {
    if (client.isOpen) client.destroy();
    // node-redis rejects a refused connection with "The client is closed"; the cause came as 'error'.
    throw failure ?? err;
  }
  return client;
}

/** Close a client (quietly, and at once if the connection is gone). */
export async function closeRedis(client: Client): Promise<void> {
  try {
    if (client.isOpen) await client.close();
  } catch {
    if (client.isOpen) client.destroy();
  }
}

/** Undefined when Redis at `url` answers PING, else why not. */
export async function redisUnreachable(url: string, timeoutMs = 1000): Promise<string | undefined> {
  let client: Client | undefined;
  try {
    client = await connectRedis(url, timeoutMs);
    const pong = await client.ping();
    return pong === 'PONG' ? undefined : `Redis at ${url} answered PING with ${pong}`;
  } catch (err) {
    const e = err as Error & { code?: string };
    return `Redis at ${url} is not reachable (${e.code ?? e.message})`;
  } finally {
    if (client) await closeRedis(client);
  }
}

/** CPU time Redis has used since it started (µs), from `INFO cpu` (its main thread and all others). */
export async function redisCpuUs(client: Client): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

/** The version of the Redis server at `url`, or undefined if it cannot be asked. */
export async function redisServerVersion(url: string): Promise<string | undefined> {
  let client: Client | undefined;
  try {
    client = await connectRedis(url);
    return /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1];
  } catch {
    return undefined;
  } finally {
    if (client) await closeRedis(client);
  }
}

/** A key prefix for one run: shared by the run's nodes, unique across runs and orchestrators. */
export function runPrefix(): string {
  return `bench:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Delete every key starting with `prefix` (SCAN + UNLINK). Returns how many were deleted. */
export async function deletePrefix(client: Client, prefix: string): Promise<number> {
  if (/[*?[\]\\]/.test(prefix)) throw new Error(`prefix ${prefix} has glob characters`);
  let deleted = 0;
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) deleted += await client.unlink(keys);
  }
  return deleted;
}
