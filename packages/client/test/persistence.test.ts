import { defineProtocol } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import {
  type ClientStorage,
  createClient,
  type Logger,
  memoryStorage,
  persistentStorage,
  webStorage,
} from '../src/index.js';
import { clientOf, nextEvent, reach } from './support/app.js';
import { ManualClock, tick } from './support/clock.js';
import { startFakeServer } from './support/fake-server.js';

function recordingLogger() {
  const lines: string[] = [];
  // pino's order: the fields object first, then the message.
  const log = (level: string) => (fields: Record<string, unknown>, message: string) => {
    expect(typeof fields).toBe('object');
    expect(typeof message).toBe('string');
    lines.push(`${level} ${message}`);
  };
  const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };
  return { logger, lines };
}

describe('persistence', () => {
  it('lets a new client instance resume the session, cursors and rooms, and resend the queued outbox', async () => {
    await using server = await startFakeServer();
    const storage = memoryStorage();
    const a = clientOf(server, { storage, clock: new ManualClock() });
    await a.connect();
    const connA = await server.nextConnection();
    await a.join('lobby');
    const delivered = new Promise((resolve) => a.once('tick', resolve));
    connA.send({
      t: 'msg',
      stream: 'broadcast',
      epoch: 'e1',
      offset: 3,
      type: 'tick',
      data: { n: 3 },
      ts: 1,
    });
    await delivered;
    const lost = a.send('say', { text: 'queued' }).catch((e: unknown) => e);
    const pub = await connA.next('pub');

    // The page dies: its socket drops and its code never runs again (its clock never moves).
    connA.ws.terminate();
    await reach(a, 'reconnecting');

    const b = clientOf(server, { storage });
    expect(b.pending()).toEqual([
      { id: pub.id, type: 'say', kind: 'send', state: 'queued', data: { text: 'queued' } },
    ]);
    expect(b.joinedRooms()).toEqual(['lobby']);
    const ack = nextEvent(b, 'ack');
    await b.connect();
    expect(b.state).toEqual({ status: 'connected', sessionId: 's1', resumed: true });
    const connB = await server.nextConnection();
    const hello = await connB.next('hello');
    expect(hello.resume).toEqual({
      sessionId: 's1',
      resumeToken: 'r-s1',
      cursors: [
        { stream: 'session:s1', epoch: 'e1', offset: 0 },
        { stream: 'broadcast', epoch: 'e1', offset: 3 },
        { stream: 'room:lobby', epoch: 'e1', offset: 0 },
      ],
      // Reloaded: it holds no open message, so it asks for their snapshots (PROTOCOL.md §10.4).
      snapshots: true,
    });
    expect(await connB.next('pub')).toEqual(pub);
    connB.send({ t: 'res', id: pub.id, ok: true, result: 'done' });
    expect(await ack).toEqual({ id: pub.id, type: 'say', ok: true, result: 'done' });
    expect(b.pending()).toEqual([]);

    // Resumed with the room listed: no join. New ids never reuse a stored one.
    void b.send('say', { text: 'new' }).catch(() => undefined);
    const next = await connB.next('pub');
    expect(next.id).not.toBe(pub.id);
    expect(connB.received.map((f) => f.t)).toEqual(['hello', 'pub', 'pub']);
    a.close();
    expect(await lost).toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('restores from an asynchronous storage before the hello', async () => {
    await using server = await startFakeServer();
    const inner = memoryStorage();
    const storage = persistentStorage({
      get: async (key) => inner.get(key),
      set: async (key, value) => inner.set(key, value),
      remove: async (key) => inner.remove(key),
    });
    const a = clientOf(server, { storage, clock: new ManualClock() });
    await a.connect();
    const connA = await server.nextConnection();
    connA.ws.terminate();
    await reach(a, 'reconnecting');
    await tick();

    const b = clientOf(server, { storage });
    await b.connect();
    expect((await (await server.nextConnection()).next('hello')).resume?.sessionId).toBe('s1');
    expect(b.state).toMatchObject({ resumed: true });
  });

  it('await using waits for the stored state to be read back and written, with an asynchronous storage', async () => {
    await using server = await startFakeServer();
    const inner = memoryStorage();
    await inner.set('holdfast', JSON.stringify({ v: 1, rooms: ['lobby'], outbox: [], seq: 7 }));
    let read!: () => void;
    const readable = new Promise<void>((resolve) => {
      read = resolve;
    });
    const writes: string[] = [];
    const storage = persistentStorage({
      get: async (key) => {
        await readable;
        return inner.get(key);
      },
      set: async (key, value) => {
        await inner.set(key, value);
        writes.push(value);
      },
      remove: async (key) => inner.remove(key),
    });
    const client = clientOf(server, { storage });
    // Disposed while the stored state is still being read: it resolves once that state is
    // applied and written, not before.
    const disposed = client[Symbol.asyncDispose]();
    read();
    await disposed;
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!)).toMatchObject({ v: 1, rooms: ['lobby'], outbox: [], seq: 7 });
  });

  it('empties the stored outbox on close() but keeps the session', async () => {
    await using server = await startFakeServer();
    const storage = memoryStorage();
    const a = clientOf(server, { storage });
    await a.connect();
    const rejected = a.send('say', { text: 'x' }).catch((e: unknown) => e);
    await a[Symbol.asyncDispose]();
    expect(await rejected).toMatchObject({ code: 'CLIENT_CLOSED' });
    const stored = JSON.parse((await storage.get('holdfast')) as string);
    expect(stored).toMatchObject({ v: 1, outbox: [], resume: { sessionId: 's1' } });
  });

  it('forgets the stored session, cursors and rooms on close({ endSession: true }) (logout, code 4000)', async () => {
    await using server = await startFakeServer();
    const storage = memoryStorage();
    const a = clientOf(server, { storage });
    await a.connect();
    const conn = await server.nextConnection();
    await a.join('lobby');
    a.close({ endSession: true });
    expect(await conn.closed).toMatchObject({ code: 4000 });
    await a[Symbol.asyncDispose]();
    const stored = JSON.parse((await storage.get('holdfast')) as string);
    expect(stored.resume).toBeUndefined();
    expect(stored).toMatchObject({ v: 1, outbox: [], rooms: [] });
    // A new instance on the same storage starts a new session.
    const b = clientOf(server, { storage });
    await b.connect();
    expect((await (await server.nextConnection()).next('hello')).resume).toBeUndefined();
    b.close();
  });

  it('ignores invalid stored state with a warning', async () => {
    await using server = await startFakeServer();
    const storage = memoryStorage();
    await storage.set('holdfast', JSON.stringify({ v: 1, resume: { sessionId: 'has space' } }));
    const { logger, lines } = recordingLogger();
    const client = clientOf(server, { storage, logger });
    expect(lines).toEqual(['warn holdfast: ignoring invalid stored state']);
    await client.connect();
    expect((await (await server.nextConnection()).next('hello')).resume).toBeUndefined();

    await storage.set('other', '{not json');
    clientOf(server, { storage, storageKey: 'other', logger });
    expect(lines[1]).toBe('warn holdfast: could not read stored state');
  });

  it('logs (never throws) when the storage cannot be written', async () => {
    await using server = await startFakeServer();
    const { logger, lines } = recordingLogger();
    const storage = persistentStorage({
      get: () => null,
      set: () => {
        throw new Error('QuotaExceededError');
      },
      remove: () => {},
    });
    const client = clientOf(server, { storage, logger });
    await client.connect();
    await tick();
    expect(lines).toContain('warn holdfast: could not write stored state');
  });

  it('webStorage adapts a Web Storage object', () => {
    const map = new Map<string, string>();
    const fake = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem: (k: string, v: string) => void map.set(k, v),
      removeItem: (k: string) => void map.delete(k),
    };
    const storage = webStorage(fake);
    storage.set('k', 'v');
    expect(storage.get('k')).toBe('v');
    storage.remove('k');
    expect(storage.get('k')).toBeNull();
  });

  it('persistentStorage calls the methods of an adapter of your own as its methods', async () => {
    await using server = await startFakeServer();
    // A class instance: its methods need their `this` (as IndexedDB wrappers often do).
    class Adapter implements ClientStorage {
      readonly values = new Map<string, string>();
      get(key: string) {
        return this.values.get(key);
      }
      set(key: string, value: string) {
        this.values.set(key, value);
      }
      remove(key: string) {
        this.values.delete(key);
      }
    }
    const adapter = new Adapter();
    const a = clientOf(server, { storage: persistentStorage(adapter), storageKey: 'mine' });
    await a.connect();
    await a[Symbol.asyncDispose]();
    expect(JSON.parse(adapter.values.get('mine')!)).toMatchObject({ v: 1, resume: { sessionId: 's1' } });
  });

  it('refuses a storage adapter not made into a storage (TypeError at createClient)', () => {
    const adapter: ClientStorage = { get: () => null, set: () => {}, remove: () => {} };
    const create = () =>
      createClient({
        url: 'ws://127.0.0.1:1',
        protocol: defineProtocol({}),
        WebSocket: class {} as never,
        // @ts-expect-error option `storage` takes a PersistentStorage: the adapter lacks its persistence
        storage: adapter,
      });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(
      'Option storage: make it with webStorage(), memoryStorage() or persistentStorage(adapter)',
    );
  });
});
