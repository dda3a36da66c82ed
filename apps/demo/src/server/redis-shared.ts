import { createClient } from 'redis';
import { type ClaimStore, sameHash, secretHash } from './claims.js';

/** How long Redis keeps a name's claim after its last use. */
const TTL_SEC = 24 * 3600;

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
