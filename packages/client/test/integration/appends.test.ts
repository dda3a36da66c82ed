import { defineProtocol } from '@holdfast/protocol';
import { createServer, type HoldfastServer, type MessageWriter } from '@holdfast/server';
import { FaultProxy } from '@holdfast/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  appends,
  type ClientOptions,
  createClient,
  type GrowingMeta,
  type HoldfastClient,
  memoryStorage,
} from '../../src/index.js';

// Growing messages (extension `appends`) and rewind, end to end: a real server (MemoryEngine),
// real sockets on loopback, the testkit TCP fault proxy for dropped sockets.

const app = defineProtocol({
  server: { answer: z.string(), tick: z.object({ n: z.int() }) },
  appends: { answer: { delta: z.string() } },
});
type App = typeof app;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(): Promise<{ server: HoldfastServer<App>; proxy: FaultProxy }> {
  const server = createServer<App>({ protocol: app, port: 0, authorizeJoin: () => true });
  await server.ready();
  cleanups.push(() => server.close());
  const proxy = await FaultProxy.start({ port: server.address().port });
  cleanups.push(() => proxy.close());
  return { server, proxy };
}

function clientOf(proxy: FaultProxy, options: Partial<ClientOptions<App>> = {}): HoldfastClient<App> {
  const client = createClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    protocol: app,
    WebSocket,
    environment: null,
    reconnect: { initialDelayMs: 20, minDelayMs: 5, maxDelayMs: 100 },
    plugins: [appends],
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** Every update of `answer` messages a client saw, and ways to wait for one. */
function watch(client: HoldfastClient<App>) {
  const updates: { value: string; meta: GrowingMeta<string> }[] = [];
  const waiters: { pred: () => boolean; resolve: () => void }[] = [];
  client.on('answer', (value, meta) => {
    updates.push({ value, meta });
    for (const w of waiters.splice(0)) (w.pred() ? w.resolve : () => waiters.push(w))();
  });
  const until = (pred: () => boolean) =>
    pred() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pred, resolve }));
  const last = () => updates.at(-1);
  return {
    updates,
    last,
    until,
    /** Resolves once the latest value has `n` tokens or more. */
    tokens: (n: number) => until(() => (last()?.value.length ?? 0) >= n * TOKEN.length),
    done: () => until(() => !!last()?.meta.done),
  };
}

/** Tokens of 600 bytes: the server writes a compacted snapshot every 4 KiB or so (7 tokens). */
const TOKEN = { length: 600 };
const token = (i: number) => `${String(i).padStart(4, '0')}${'x'.repeat(595)} `;
const text = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => token(from + i)).join('');

async function appendAll(writer: MessageWriter<string, string>, from: number, to: number): Promise<void> {
  await Promise.all(Array.from({ length: to - from }, (_, i) => writer.append(token(from + i))));
}

/** Each update of one message extends the previous value (no token twice, none missing, in order). */
function expectGrowing(updates: { value: string; meta: GrowingMeta<string> }[], final: string): void {
  expect(updates.length).toBeGreaterThan(0);
  expect(new Set(updates.map((u) => u.meta.key)).size).toBe(1);
  for (let i = 1; i < updates.length; i++) {
    expect(updates[i]!.value.startsWith(updates[i - 1]!.value)).toBe(true);
    expect(updates[i]!.meta.offset).toBeGreaterThan(updates[i - 1]!.meta.offset!);
    const { delta } = updates[i]!.meta;
    if (delta !== undefined) expect(updates[i]!.value).toBe(updates[i - 1]!.value + delta);
  }
  expect(updates.at(-1)!.value).toBe(final);
  expect(updates.filter((u) => u.meta.done)).toHaveLength(1);
  expect(updates.at(-1)!.meta.done).toBe(true);
}

describe('growing messages against the real server', () => {
  it('delivers an answer exactly once, in order, across a socket dropped mid-answer', async () => {
    const { server, proxy } = await startServer();
    const client = clientOf(proxy);
    const w = watch(client);
    await client.connect();
    await client.join('r');
    const writer = await server.startMessage({ room: 'r' }, 'answer', '');
    await appendAll(writer, 0, 10);
    await w.tokens(10);
    proxy.cut('rst');
    // Written while the client is away: replayed as compacted snapshots and pending apps.
    await appendAll(writer, 10, 30);
    await writer.end(token(30));
    await w.done();
    expectGrowing(w.updates, text(0, 31));
    expect(proxy.accepted).toBe(2);
  });

  it('shows a page reloaded from persistence mid-answer the text so far, then the rest live', async () => {
    const { server, proxy } = await startServer();
    const storage = memoryStorage();
    const before = clientOf(proxy, { storage });
    const b = watch(before);
    await before.connect();
    await before.join('r');
    const writer = await server.startMessage({ room: 'r' }, 'answer', '');
    await appendAll(writer, 0, 12);
    await b.tokens(12);
    // The page dies: its socket drops, then its code stops (its last state is stored).
    proxy.cut('rst');
    await before[Symbol.asyncDispose]();

    // Nothing was appended since: the answer sits at or below the stored cursor, so only the
    // `snapshots` request of the reloaded page brings it back.
    const after = clientOf(proxy, { storage });
    const a = watch(after);
    await after.connect();
    await a.tokens(12);
    // A compacted snapshot first, then the deltas after it: the text so far, each token once.
    expect(a.last()!.value).toBe(text(0, 12));
    expect(a.updates[0]!.meta.delta).toBeUndefined();
    await appendAll(writer, 12, 20);
    await writer.end();
    await a.done();
    expectGrowing(a.updates, text(0, 20));
    expect(a.updates[0]!.meta.key).toBe(b.updates[0]!.meta.key);
  });

  it('shows a late joiner the answer folded so far, then the rest live', async () => {
    const { server, proxy } = await startServer();
    const writer = await server.startMessage({ room: 'r' }, 'answer', 'Q: ');
    await appendAll(writer, 0, 9);
    const client = clientOf(proxy);
    const w = watch(client);
    await client.connect();
    await client.join('r');
    await w.tokens(9);
    expect(w.last()!.value).toBe(`Q: ${text(0, 9)}`);
    expect(w.updates[0]!.meta.delta).toBeUndefined();
    await appendAll(writer, 9, 15);
    await writer.end();
    await w.done();
    expectGrowing(w.updates, `Q: ${text(0, 15)}`);
  });

  it("drops an answer of a lost epoch: the new server's answer is another message", async () => {
    const first = createServer<App>({ protocol: app, port: 0, authorizeJoin: () => true });
    await first.ready();
    const proxy = await FaultProxy.start({ port: first.address().port });
    cleanups.push(() => proxy.close());
    const client = clientOf(proxy);
    const w = watch(client);
    await client.connect();
    await client.join('r');
    const old = await first.startMessage({ room: 'r' }, 'answer', 'old ');
    await old.append('answer');
    await w.until(() => w.last()?.value === 'old answer');
    await first.close();
    // A restarted in-memory server: a new epoch, whose first message also starts at offset 1.
    const second = createServer<App>({ protocol: app, port: 0, authorizeJoin: () => true });
    await second.ready();
    cleanups.push(() => second.close());
    const fresh = await second.startMessage({ room: 'r' }, 'answer', 'new ');
    expect(fresh.start).toBe(old.start);
    proxy.retarget(second.address().port);
    // The session expired with the old server: the client re-joins, and gets the open answer.
    await expect.poll(() => second.countConnections({ room: 'r' })).toBe(1);
    await fresh.append('text');
    await fresh.end('!');
    await w.done();
    const [oldOnes, newOnes] = [
      w.updates.filter((u) => u.meta.epoch === old.epoch),
      w.updates.filter((u) => u.meta.epoch === fresh.epoch),
    ];
    expect(oldOnes.map((u) => u.value)).toEqual(['old ', 'old answer']);
    expect(newOnes.at(-1)!.value).toBe('new text!');
    expect(newOnes.every((u) => u.value.startsWith('new '))).toBe(true);
    expect(newOnes[0]!.meta.key).not.toBe(oldOnes[0]!.meta.key);
  });
});

describe('join with rewind against the real server', () => {
  it("delivers the room's last messages before live ones, and again on a re-join with rewind", async () => {
    const { server, proxy } = await startServer();
    for (let n = 1; n <= 5; n++) await server.sendToRoom('r', 'tick', { n });
    const done = await server.startMessage({ room: 'r' }, 'answer', 'a');
    await done.end('b');
    const client = clientOf(proxy);
    const seen: string[] = [];
    client.on('tick', ({ n }) => seen.push(`tick ${n}`));
    client.on('answer', (value, meta) => seen.push(`answer ${value}${meta.done ? ' (done)' : ''}`));
    await client.connect();
    const joined = await client.join('r', { rewind: { count: 3 } });
    expect(joined).toMatchObject({ stream: 'room:r', rewound: 3 });
    await server.sendToRoom('r', 'tick', { n: 6 });
    await expect.poll(() => seen.length).toBe(4);
    expect(seen).toEqual(['tick 4', 'tick 5', 'answer ab (done)', 'tick 6']);

    // Already in the room: a rewind moves the subscription start (and the cursor) back.
    const again = await client.join('r', { rewind: { count: 2 } });
    expect(again.rewound).toBe(2);
    await server.sendToRoom('r', 'tick', { n: 7 });
    await expect.poll(() => seen.length).toBe(7);
    expect(seen.slice(4)).toEqual(['answer ab (done)', 'tick 6', 'tick 7']);
  });
});
