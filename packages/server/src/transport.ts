/**
 * Everything that knows `ws` and HTTP: the HTTP server (owned or attached), upgrade routing on
 * `path`, the origin rule and per-address admission, the token of the upgrade request, the
 * socket class whose events go straight to the server (no listeners per connection), and the
 * raw socket under `ws` that frames are written to.
 *
 * The core sees a transport only through {@link Transport}: per-connection socket operations
 * (one transport object per server; nothing is allocated per connection). A second transport
 * (uWebSockets.js is the candidate) must provide:
 * - the operations of {@link Transport}: write a complete, unmasked text frame (built once with
 *   `textFrame` and shared by many sockets) with an optional flushed callback; cork/uncork;
 *   the bytes buffered for the peer; close with a code and reason; terminate; a promise of the
 *   close; `start`/`stop` of its listener and its `address`;
 * - for each accepted socket: a {@link Connection} whose `ws` reports `readyState`/`OPEN`, its
 *   handshake (headers, url, token), and calls to its {@link TransportHost}: `opened` first,
 *   then `message` per frame and `closed` once, with refusals (origin, per address, pending)
 *   made after the upgrade so browsers see the close code.
 */
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type AnyProtocol, CloseCode, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '@holdfast/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import { addressKey, clientAddress, proxyList } from './address.js';
import { Connection } from './connection.js';
import type { Core } from './core.js';

/** What the core does with a transport's sockets; one per server. */
export interface Transport {
  /** Write a complete text frame; `flushed` runs once it has left the buffer. */
  write(conn: Connection, frame: Buffer, flushed?: () => void): void;
  /** Hold writes until `uncork`. */
  cork(conn: Connection): void;
  /** Write what `cork` held. */
  uncork(conn: Connection): void;
  /** Bytes written and not yet sent. */
  bufferedAmount(conn: Connection): number;
  /** Start a close handshake. */
  close(conn: Connection, code: number, reason: string): void;
  /** Drop the socket at once. */
  terminate(conn: Connection): void;
  /** Answer a WebSocket ping (the transport does not answer pings by itself). */
  pong(conn: Connection, data: Buffer): void;
  /** Resolves when the socket has closed. */
  closed(conn: Connection): Promise<void>;
}

/** What a transport calls on the core. */
export interface TransportHost {
  /** A socket was accepted (before any refusal): register it; returns how many are pending. */
  opened(conn: Connection): number;
  /** May it wait for its hello? Undefined if so, else why not (refused with 1013). */
  admit(conn: Connection): string | undefined;
  /** Refuse a connection with a close code. */
  refuse(conn: Connection, code: number, detail: string, retryAfterMs?: number): void;
  /** A frame arrived. */
  message(conn: Connection, data: Buffer, isBinary: boolean): void;
  /** A WebSocket ping arrived (answer it with `Transport.pong`, or not). */
  ping(conn: Connection, data: Buffer): void;
  /** The socket closed (once per connection). */
  closed(conn: Connection, code: number, reason: string): void;
}

/** What the server needs of the socket under a `ws` WebSocket. */
interface RawSocket {
  write(chunk: Buffer, cb?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
}

/** The URL with the value of every exact `token` query parameter replaced (not `xtoken=`, not the path). */
export function redactToken(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  return url.slice(0, q) + url.slice(q).replace(/([?&])token=[^&#]*/g, '$1token=REDACTED');
}

/** The property of a `ws` socket that holds its connection. */
const CONN = Symbol('holdfast.connection');

type Tagged = WebSocket & { [CONN]: Connection };

/**
 * The socket under `ws` (set before `ws` hands over a connection, never unset), written to
 * directly with frames the server built: one frame shared by every recipient of a broadcast.
 */
function rawOf(conn: Connection): RawSocket {
  return (conn.ws as unknown as { _socket: RawSocket })._socket;
}

/** The `ws` transport, on a `node:http` server of its own (`port`) or the app's (`server`). */
export class WsTransport<P extends AnyProtocol> implements Transport {
  private readonly core: Core<P>;
  private readonly host: TransportHost;
  private readonly wss: WebSocketServer;
  private readonly httpServer: HttpServer | undefined;
  private readonly ownsHttpServer: boolean;
  private readonly upgradeListener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Connections per address key; `address` is the one string every such connection shares. */
  private readonly perAddress = new Map<string, { address: string; n: number }>();
  /** The trusted proxies (`X-Forwarded-For` is read only from them). */
  private readonly proxies: ReturnType<typeof proxyList>;

  constructor(core: Core<P>, host: TransportHost) {
    this.core = core;
    this.host = host;
    const { opts } = core;
    this.proxies = proxyList(opts.trustedProxies);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: core.limits.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // Pings are answered by the core, within the frame rate (a ping flood is a frame flood).
      autoPong: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      WebSocket: this.socketClass as unknown as typeof WebSocket,
    });
    this.wss.on('error', (err) => core.fail(err, 'wss'));
    this.upgradeListener = (req, socket, head) => {
      if (this.matchesPath(req)) this.handleUpgrade(req, socket, head);
      else if ((this.httpServer?.listenerCount('upgrade') ?? 0) <= 1) {
        // Nobody else handles upgrades on this server: answer rather than leave the socket hanging.
        socket.on('error', () => {});
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    if (opts.server) {
      this.httpServer = opts.server;
      this.ownsHttpServer = false;
      opts.server.on('upgrade', this.upgradeListener);
    } else if (opts.port !== undefined) {
      this.ownsHttpServer = true;
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required');
      });
      http.on('upgrade', this.upgradeListener);
      http.on('error', (err) => core.fail(err, 'http'));
      this.httpServer = http;
    } else {
      this.ownsHttpServer = false;
    }
  }

  /** Listen on the port (port mode). */
  async start(): Promise<void> {
    const { port, host } = this.core.opts;
    if (this.ownsHttpServer && this.httpServer && port !== undefined) {
      const http = this.httpServer;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
    }
  }

  /** Stop routing upgrades here (the first step of closing). */
  detachUpgrades(): void {
    this.httpServer?.off('upgrade', this.upgradeListener);
  }

  /** Stop the WebSocket server, and the HTTP server if it is ours. */
  async stop(): Promise<void> {
    this.wss.close();
    if (this.ownsHttpServer && this.httpServer) {
      const http = this.httpServer;
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }

  /** Whether the HTTP server is an HTTPS (TLS) one. */
  get secure(): boolean {
    return (
      typeof (this.httpServer as { setSecureContext?: unknown } | undefined)?.setSecureContext === 'function'
    );
  }

  /** The listening address (own port, or the attached server once it listens). */
  address(): { port: number; host: string } {
    const a = this.httpServer?.address();
    if (!a || typeof a === 'string') {
      throw new Error(
        this.httpServer
          ? 'not listening on a port yet: call url() or address() once the HTTP server listens'
          : 'not listening on a port: created without `port` or `server` (upgrades come through handleUpgrade)',
      );
    }
    return { port: a.port, host: a.address };
  }

  private matchesPath(req: IncomingMessage): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === this.core.opts.path;
  }

  /** Take over an HTTP upgrade (503 once the server is closing). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A listener made here would share this scope and keep `req` alive for the socket's life.
    socket.on('error', this.onUpgradeError);
    if (this.core.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
  }

  private readonly onUpgradeError = (err: Error): void =>
    this.core.log.debug({ err }, 'socket error during upgrade');

  /**
   * `ws`'s WebSocket with its four events (`message`, `ping`, `close`, `error`) handed straight
   * to the server: nothing is registered per socket, where four listeners turn each socket's
   * event table into a hash table of its own (about 250 bytes per connection). `this` is the
   * socket; its connection hangs off it. Listeners added later (`closed()`) still run.
   */
  private readonly socketClass = (() => {
    const transport = this;
    return class HoldfastSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        // No event table until a listener is added (Node's emitter makes one then): an empty
        // one is a hash table of its own, ~180 bytes per socket that would stay empty.
        (this as unknown as { _events: unknown })._events = undefined;
      }

      override emit(event: string | symbol, ...args: unknown[]): boolean {
        const conn = (this as unknown as Partial<Tagged>)[CONN];
        if (conn === undefined) return super.emit(event, ...args);
        switch (event) {
          case 'message':
            transport.host.message(conn, args[0] as Buffer, args[1] as boolean);
            return true;
          case 'ping':
            transport.host.ping(conn, args[0] as Buffer);
            return true;
          case 'close':
            transport.onClose(conn, args[0] as number, String(args[1]));
            break;
          case 'error':
            transport.core.log.debug({ err: args[0], connectionId: conn.id }, 'socket error');
            // An `'error'` with no listener would throw.
            if (this.listenerCount('error') === 0) return true;
            break;
        }
        return super.emit(event, ...args);
      }
    };
  })();

  private onClose(conn: Connection, code: number, reason: string): void {
    const count = this.perAddress.get(conn.addressKey);
    if (count && --count.n <= 0) this.perAddress.delete(conn.addressKey);
    this.host.closed(conn, code, reason);
  }

  private originAllowed(origin: string | undefined): boolean {
    const rule = this.core.opts.origins;
    if (!rule) return true;
    if (origin === undefined) return this.core.opts.allowMissingOrigin;
    return typeof rule === 'function' ? rule(origin) : rule.includes(origin);
  }

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    const { core, host } = this;
    const limits = core.limits;
    const now = core.rel();
    const seen = clientAddress(req, this.proxies);
    const key = addressKey(seen, limits.ipv6Prefix);
    let count = this.perAddress.get(key);
    if (!count) {
      count = { address: key, n: 0 };
      this.perAddress.set(key, count);
    }
    count.n += 1;
    const conn = new Connection(
      core.ids.id('c_'),
      ws,
      now,
      seen === key ? count.address : seen,
      req.headers['user-agent']?.slice(0, 256),
      limits.burst,
      count.address,
    );
    host.opened(conn);
    (ws as Tagged)[CONN] = conn;
    // `ws` listens for the raw socket's errors from here on: the upgrade's listener would only
    // grow the socket's listener table (an array of two) for the connection's life.
    (rawOf(conn) as unknown as Duplex).off('error', this.onUpgradeError);

    // Refusals happen after accepting the upgrade so browsers can see the code (they only see 1006 otherwise).
    if (!this.originAllowed(req.headers.origin))
      return host.refuse(conn, CloseCode.Forbidden, 'origin not allowed');
    if (count.n > limits.connectionsPerAddress) {
      return host.refuse(conn, CloseCode.RateLimited, 'too many connections from this address', 5000);
    }
    const refusal = host.admit(conn);
    if (refusal) return host.refuse(conn, CloseCode.TryAgainLater, refusal);
    let token: string | undefined;
    let tokenSource: 'subprotocol' | 'query' | undefined;
    const offered = req.headers['sec-websocket-protocol'];
    if (typeof offered === 'string') {
      for (const p of offered.split(',')) {
        const entry = p.trim();
        if (entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) {
          token = entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
          tokenSource = 'subprotocol';
        }
      }
    }
    const url = req.url ?? '/';
    if (!token && core.opts.allowQueryToken && url.includes('token=')) {
      const q = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('token');
      if (q) {
        token = q;
        tokenSource = 'query';
      }
    }
    conn.handshake = {
      headers: { ...req.headers, 'sec-websocket-protocol': undefined },
      url: tokenSource === 'query' ? redactToken(url) : url,
      ...(token ? { token } : {}),
      ...(tokenSource ? { tokenSource } : {}),
    };
  }

  write(conn: Connection, frame: Buffer, flushed?: () => void): void {
    if (flushed) rawOf(conn).write(frame, () => flushed());
    else rawOf(conn).write(frame);
  }

  cork(conn: Connection): void {
    rawOf(conn).cork();
  }

  uncork(conn: Connection): void {
    rawOf(conn).uncork();
  }

  bufferedAmount(conn: Connection): number {
    return (conn.ws as WebSocket).bufferedAmount;
  }

  close(conn: Connection, code: number, reason: string): void {
    (conn.ws as WebSocket).close(code, reason);
  }

  terminate(conn: Connection): void {
    (conn.ws as WebSocket).terminate();
  }

  pong(conn: Connection, data: Buffer): void {
    const ws = conn.ws as WebSocket;
    if (ws.readyState === ws.OPEN) ws.pong(data);
  }

  closed(conn: Connection): Promise<void> {
    return new Promise<void>((resolve) => (conn.ws as WebSocket).once('close', () => resolve()));
  }
}
