import { createClient } from 'redis';
import type { ChatLine } from '../shared/protocol.js';
import type { HistoryStore } from './history.js';

/** Recent chat lines per room in Redis lists, shared by every demo node. */
export async function redisHistory(url: string, prefix: string, keep = 200): Promise<HistoryStore> {
  const client = createClient({ url });
  // Every Redis client gets an 'error' listener: node-redis reconnects by itself meanwhile.
  client.on('error', (err: Error) => console.error(`history redis: ${err.message}`));
  await client.connect();
  const key = (room: string) => `${prefix}history:{${room}}`;
  return {
    async add(line) {
      await client
        .multi()
        .rPush(key(line.room), JSON.stringify(line))
        .lTrim(key(line.room), -keep, -1)
        .exec();
    },
    async list(room) {
      return (await client.lRange(key(room), 0, -1)).map((s) => JSON.parse(s) as ChatLine);
    },
    async close() {
      await client.quit();
    },
  };
}

/**
 * The demo's JWT key when several nodes share a Redis: the first node to start stores a random
 * one (SET NX), the others read it, so a token from one node is valid on all.
 */
export async function sharedSecret(url: string, prefix: string, candidate: string): Promise<string> {
  const client = createClient({ url });
  client.on('error', (err: Error) => console.error(`secret redis: ${err.message}`));
  await client.connect();
  try {
    await client.set(`${prefix}jwt-secret`, candidate, { condition: 'NX' });
    return (await client.get(`${prefix}jwt-secret`)) ?? candidate;
  } finally {
    await client.quit();
  }
}
