import { createClient } from 'redis';
import type { ChatLine } from '../shared/protocol.js';
import { type ClaimStore, sameHash, secretHash } from './claims.js';
import type { HistoryStore } from './history.js';

/** How long Redis keeps a room's lines and a name's claim after their last use. */
const TTL_SEC = 24 * 3600;

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
        .expire(key(line.room), TTL_SEC)
        .exec();
    },
    async list(room) {
      return (await client.lRange(key(room), 0, -1)).map((s) => JSON.parse(s) as ChatLine);
    },
    // Shared by every node: rooms are not swept here (a node cannot see who is in them on the
    // others); the keys expire a day after their last line instead.
    async rooms() {
      return [];
    },
    async drop(room) {
      await client.del(key(room));
    },
    async close() {
      await client.quit();
    },
  };
}

/** Name claims shared by every node (SET NX of the secret's hash, kept a day after last use). */
export async function redisClaims(url: string, prefix: string): Promise<ClaimStore> {
  const client = createClient({ url });
  client.on('error', (err: Error) => console.error(`claims redis: ${err.message}`));
  await client.connect();
  return {
    async claim(name, secret) {
      const k = `${prefix}claim:${name.toLowerCase()}`;
      const hash = secretHash(secret);
      await client.set(k, hash, { condition: 'NX', expiration: { type: 'EX', value: TTL_SEC } });
      const held = await client.get(k);
      if (held === null || !sameHash(held, hash)) return 'taken';
      await client.expire(k, TTL_SEC);
      return 'ok';
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
