import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** How a cut ends the TCP connections: a reset (RST) or an orderly close (FIN). */
export type CutMode = 'rst' | 'fin';

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy between a client and a server that injects network faults (tc netem is not
 * available here): cuts (RST or FIN), a frozen link (half-open: nothing forwarded, nothing
 * closed), slicing into tiny writes, added latency, and refusing new connections.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start({ port: serverPort });
 * const client = createClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, ... });
 * proxy.cut('rst');          // every connection dies now
 * proxy.freeze();            // half-open: heartbeats must notice
 * ```
 */
export class FaultProxy extends EventEmitter<{ dropped: [bytes: number] }> {
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  private refusing = false;
  private sliceBytes = 0;
  private latencyMs = 0;
  /** Connections accepted so far. */
  accepted = 0;
  /** Bytes forwarded in each direction. */
  readonly bytes = { up: 0, down: 0 };

  private constructor(
    private readonly server: Server,
    private target: { host: string; port: number },
  ) {
    super();
  }

  /** Start a proxy on a free loopback port forwarding to `target`. */
  static async start(target: { host?: string; port: number }): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, { host: target.host ?? '127.0.0.1', port: target.port });
    server.on('connection', (client) => proxy.accept(client));
    server.on('error', () => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  /** The proxy's port. */
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** Open connections. */
  get connections(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    client.on('error', () => {});
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect(this.target.port, this.target.host);
    upstream.on('error', () => {});
    const pair = { client, upstream };
    this.pairs.add(pair);
    const forward = (from: Socket, to: Socket, dir: 'up' | 'down') => {
      // A chain keeps chunks in order whatever the delays.
      let chain = Promise.resolve();
      from.on('data', (chunk: Buffer) => {
        if (this.frozen) {
          // Dropped: the link is dead but nobody is told.
          this.emit('dropped', chunk.length);
          return;
        }
        // Latency is a delay from arrival, not a pause per chunk: chunks in flight overlap.
        const due = Date.now() + this.latencyMs;
        const slice = this.sliceBytes;
        chain = chain.then(async () => {
          const wait = due - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (to.destroyed) return;
          if (slice > 0) {
            for (let i = 0; i < chunk.length; i += slice) {
              to.write(chunk.subarray(i, i + slice));
              await new Promise((r) => setImmediate(r));
              if (to.destroyed) return;
            }
          } else to.write(chunk);
          this.bytes[dir] += chunk.length;
        });
      });
      from.on('end', () => {
        if (!this.frozen) void chain.then(() => to.end());
      });
      from.on('close', () => {
        this.pairs.delete(pair);
        if (!this.frozen) void chain.then(() => to.destroy());
      });
    };
    forward(client, upstream, 'up');
    forward(upstream, client, 'down');
  }

  /** End every open connection now, with a reset or an orderly close, on both sides. */
  cut(mode: CutMode = 'rst'): number {
    const n = this.pairs.size;
    for (const { client, upstream } of this.pairs) {
      if (mode === 'rst') {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      } else {
        client.end();
        upstream.end();
      }
    }
    this.pairs.clear();
    return n;
  }

  /** Stop forwarding in both directions without closing anything (a half-open link). */
  freeze(): void {
    this.frozen = true;
  }

  /** Forward again (data sent while frozen is lost, as on a dead link). */
  unfreeze(): void {
    this.frozen = false;
  }

  /** Forward in writes of at most `bytes` bytes (1 = one byte at a time); 0 turns it off. */
  slice(bytes: number): void {
    this.sliceBytes = bytes;
  }

  /** Delay every chunk by `ms` (order kept); 0 turns it off. */
  latency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Forward new connections to another port (e.g. a restarted server). */
  retarget(port: number, host = this.target.host): void {
    this.target = { host, port };
  }

  /** Refuse (reset) new connections while true. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Close the proxy and every connection. */
  async close(): Promise<void> {
    this.cut('rst');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
