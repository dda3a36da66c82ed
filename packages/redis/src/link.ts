import type { Clock, Logger } from '@holdfast/server';
import { EventEmitter } from 'eventemitter3';
import {
  createClient,
  createCluster,
  type RedisClientOptions,
  type RedisClientType,
  type RedisDefaultModules,
  type RedisFunctions,
  type RedisModules,
  type RedisScripts,
  type RespVersions,
  type TypeMapping,
} from 'redis';
import { isUnavailable, RedisEngineError, RedisUnavailableError } from './errors.js';
import type { Keys } from './keys.js';
import { ALL_SCRIPTS, type Script } from './scripts.js';

/** A node-redis client as `createClient(options: RedisClientOptions)` returns it. */
export type Client = RedisClientType<
  RedisDefaultModules & RedisModules,
  RedisFunctions,
  RedisScripts,
  RespVersions,
  TypeMapping
>;

/** Which of the engine's two Redis connections. */
export type RedisConnectionName = 'commands' | 'subscriber';

/** Events of {@link RedisEngine}. */
export interface RedisEngineEvents {
  /** A Redis connection went down or came back. */
  connection: (info: { connection: RedisConnectionName; state: 'ready' | 'down' }) => void;
  /** An operation or a connection failed (the engine keeps running). */
  error: (error: Error, context: { where: string }) => void;
  /**
   * The engine became unhealthy (a connection down, or partitioned: up but not answering
   * the health probe) or healthy again.
   */
  health: (info: { healthy: boolean; partitioned: boolean }) => void;
}

/** What {@link Link} needs to know. */
export interface LinkOptions {
  /** Options of both clients (the subscriber is a duplicate of the commands client). */
  client: RedisClientOptions;
  keys: Keys;
  clock: Clock;
  log: Logger;
  /** Stream channels use sharded pub/sub. */
  sharded: boolean;
  /** URLs of Redis Cluster nodes: use node-redis's cluster client (`client` are its per-node defaults). */
  clusterNodes?: readonly string[] | undefined;
}

/**
 * The engine's link to Redis, the bottom layer every other module uses: the two clients
 * (commands and pub/sub subscriber), their health and events, running the Lua scripts, and
 * turning failures into typed errors. Knows nothing about streams, sessions or rooms.
 */
export class Link {
  /** The commands connection. */
  readonly cmd: Client;
  /** The pub/sub connection. */
  readonly sub: Client;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly log: Logger;
  /** Stream channels use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`). */
  readonly sharded: boolean;
  /** Lifecycle of the engine. */
  state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  /** Whether each connection is ready now. */
  readonly up: Record<RedisConnectionName, boolean> = { commands: false, subscriber: false };
  /** Called when the subscriber connection came back after being lost. */
  onSubscriberReconnected: () => void = () => {};
  /** Called when the commands connection came back after being lost. */
  onCommandsReconnected: () => void = () => {};
  /** Whether the clients are Redis Cluster clients. */
  readonly cluster: boolean;
  /** Whether the health probe found a connection up but not answering. */
  partitioned = false;
  private wasHealthy = false;
  private readonly everUp: Record<RedisConnectionName, boolean> = { commands: false, subscriber: false };
  private readonly counts = { errors: 0, connectionErrors: 0, reconnects: 0 };
  private lastError: string | undefined;
  private readonly emitter = new EventEmitter<RedisEngineEvents>();

  constructor(options: LinkOptions) {
    this.keys = options.keys;
    this.clock = options.clock;
    this.log = options.log;
    this.sharded = options.sharded;
    this.cluster = options.clusterNodes !== undefined;
    if (options.clusterNodes) {
      // The cluster client has the standalone client's commands (routed by their first key);
      // `send()` and the events differ, and are handled where used.
      const { url: _url, ...defaults } = options.client;
      const cluster = createCluster({
        rootNodes: options.clusterNodes.map((url) => ({ url })),
        defaults: defaults as never,
      });
      this.cmd = cluster as unknown as Client;
      this.sub = cluster.duplicate() as unknown as Client;
      this.attachCluster(this.cmd, 'commands');
      this.attachCluster(this.sub, 'subscriber');
    } else {
      this.cmd = createClient(options.client);
      this.sub = this.cmd.duplicate();
      this.attach(this.cmd, 'commands');
      this.attach(this.sub, 'subscriber');
    }
  }

  /** Events of a cluster client: up once connected, down when closed; node errors counted. */
  private attachCluster(client: Client, name: RedisConnectionName): void {
    const c = client as unknown as { on(event: string, fn: (...args: unknown[]) => void): void };
    c.on('error', (err) => {
      this.counts.connectionErrors += 1;
      this.lastError = (err as Error).message;
      this.emit('error', err as Error, { where: name });
    });
    c.on('node-error', (err) => {
      this.counts.connectionErrors += 1;
      this.lastError = (err as Error).message;
      this.log.debug({ err, connection: name }, 'redis cluster node error');
    });
    c.on('connect', () => this.setUp(name, true));
    c.on('disconnect', () => this.setUp(name, false));
    c.on('node-reconnecting', () => {
      // A node's connection came back (or is coming back): what was published meanwhile on
      // its shards never arrives by pub/sub; catch up once commands work again.
      this.counts.reconnects += 1;
      this.resyncDue = true;
    });
  }

  /** A cluster node reconnected: the watched streams catch up at the next healthy probe. */
  resyncDue = false;

  /** Send a raw command (`key` routes it on a Cluster; undefined: any node). */
  send<T>(key: string | undefined, args: string[]): Promise<T> {
    if (!this.cluster) return this.cmd.sendCommand<T>(args);
    const cluster = this.cmd as unknown as {
      sendCommand<R>(key: string | undefined, readonly: boolean, args: string[]): Promise<R>;
    };
    return cluster.sendCommand<T>(key, false, args);
  }

  private attach(client: Client, name: RedisConnectionName): void {
    // Every Redis client has an 'error' listener: without one, a connection error would
    // crash the process (an EventEmitter 'error' nobody listens to throws).
    client.on('error', (err: Error) => {
      this.counts.connectionErrors += 1;
      this.lastError = err.message;
      if (this.up[name]) this.log.warn({ err, connection: name }, 'redis connection error');
      else this.log.debug({ err, connection: name }, 'redis connection error');
      // Some errors leave the connection usable (a failed handshake step is retried): only
      // a connection that is no longer ready is down.
      if (!client.isReady) this.setUp(name, false);
      this.emit('error', err, { where: name });
    });
    client.on('end', () => this.setUp(name, false));
    client.on('ready', () => {
      const again = this.everUp[name];
      this.everUp[name] = true;
      this.setUp(name, true);
      if (!again) return;
      this.counts.reconnects += 1;
      this.log.info({ connection: name }, 'redis reconnected');
      if (name === 'subscriber') this.onSubscriberReconnected();
      else this.onCommandsReconnected();
    });
  }

  private setUp(name: RedisConnectionName, up: boolean): void {
    if (this.up[name] === up) return;
    this.up[name] = up;
    this.emit('connection', { connection: name, state: up ? 'ready' : 'down' });
    this.healthChanged();
  }

  /** Both connections up and answering. */
  healthy(): boolean {
    return this.up.commands && this.up.subscriber && !this.partitioned;
  }

  /** The health probe's verdict: partitioned (up but not answering) or not. */
  setPartitioned(partitioned: boolean): void {
    this.partitioned = partitioned;
    this.healthChanged();
  }

  private healthChanged(): void {
    const healthy = this.healthy();
    if (healthy === this.wasHealthy) return;
    this.wasHealthy = healthy;
    this.emit('health', { healthy, partitioned: this.partitioned });
  }

  /** Listen to an engine event. Returns a function that removes the listener. */
  on<E extends keyof RedisEngineEvents>(event: E, listener: RedisEngineEvents[E]): () => void {
    this.emitter.on(event, listener as never);
    return () => this.emitter.off(event, listener as never);
  }

  private emit<E extends keyof RedisEngineEvents>(event: E, ...args: Parameters<RedisEngineEvents[E]>): void {
    try {
      (this.emitter.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'redis engine event listener threw');
    }
  }

  /** Failure figures and both connections' state. */
  health(): {
    commands: 'ready' | 'down';
    subscriber: 'ready' | 'down';
    errors: number;
    connectionErrors: number;
    reconnects: number;
    lastError: string | undefined;
  } {
    return {
      commands: this.up.commands ? 'ready' : 'down',
      subscriber: this.up.subscriber ? 'ready' : 'down',
      errors: this.counts.errors,
      connectionErrors: this.counts.connectionErrors,
      reconnects: this.counts.reconnects,
      lastError: this.lastError,
    };
  }

  /** Connect both clients and load the scripts. */
  async connect(): Promise<void> {
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    // On a Cluster, each master loads a script on its first EVAL (NOSCRIPT fallback in `run`).
    if (!this.cluster) await Promise.all(ALL_SCRIPTS.map((s) => this.cmd.scriptLoad(s.source)));
  }

  /** Close both clients: politely, then by force after a second (a dead Redis never answers). */
  async disconnect(): Promise<void> {
    const quit = async (client: Client) => {
      if (!client.isOpen) return;
      let timer: unknown;
      await Promise.race([
        client.close().catch((err: unknown) => this.log.debug({ err }, 'redis close failed')),
        new Promise<void>((resolve) => {
          timer = this.clock.setTimeout(resolve, 1000);
        }),
      ]);
      this.clock.clearTimeout(timer);
      if (client.isOpen) client.destroy();
    };
    await Promise.all([quit(this.cmd), quit(this.sub)]);
  }

  /** Run one engine operation: errors are counted, logged and wrapped in a typed error. */
  async op<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(name, err);
    }
  }

  private failure(name: string, err: unknown): Error {
    if (err instanceof RedisUnavailableError || err instanceof RedisEngineError) return err;
    this.counts.errors += 1;
    const wrapped = isUnavailable(err)
      ? new RedisUnavailableError(name, err)
      : new RedisEngineError(name, err);
    this.lastError = wrapped.message;
    this.log.warn({ err, operation: name }, 'redis engine operation failed');
    this.emit('error', wrapped, { where: name });
    return wrapped;
  }

  /** Report a failure of background work (no caller to throw to). */
  report(where: string, err: unknown): void {
    this.failure(where, err);
  }

  /** Run a Lua script by its SHA, loading it again if Redis lost its script cache. */
  async run<T>(script: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    const argv = args.map(String);
    try {
      return await this.send<T>(keys[0], ['EVALSHA', script.sha, String(keys.length), ...keys, ...argv]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      // Redis lost its script cache (restart, failover, another Cluster master): EVAL loads it.
      return this.send<T>(keys[0], ['EVAL', script.source, String(keys.length), ...keys, ...argv]);
    }
  }

  /** Publish on a stream channel (sharded or classic pub/sub, as configured). */
  async publish(channel: string, payload: string): Promise<void> {
    if (this.sharded) await this.cmd.sPublish(channel, payload);
    else await this.cmd.publish(channel, payload);
  }
}
