/**
 * `@holdfast/server/metrics`: Prometheus metrics for a Holdfast server, on `prom-client` (an
 * optional peer dependency: install it to use this entry; the main entry never loads it).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ServerApi } from './api.js';
import { type AnyServer, type HttpHandler, json } from './http-handlers.js';

/** Options of {@link metricsHandler}. */
export interface MetricsOptions {
  /** Register Holdfast's metrics in this registry (yours) instead of a new one. */
  registry?: Registry;
  /**
   * Prefix of every metric name.
   * @default 'holdfast_'
   */
  prefix?: string;
  /**
   * Buckets (seconds) of the latency histograms.
   * @default [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: number[];
}

/** The default buckets of the latency histograms, in seconds (1 ms to 10 s). */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Serve Prometheus metrics (text format) from a registry of its own (never the global one).
 * Pass `registry` to add Holdfast's metrics to yours. Besides the gauges and counters read from
 * `server.stats()`, it attaches timing hooks (`server.instrument`) for the latency histograms
 * (`handler_duration_seconds`, `request_duration_seconds`, `replay_duration_seconds`) and
 * `client_disconnects_total`; `detach()` removes them.
 *
 * @example
 * ```ts
 * import { metricsHandler } from '@holdfast/server/metrics';
 * app.get('/metrics', metricsHandler(server));
 * ```
 */
export function metricsHandler(
  server: AnyServer & Pick<ServerApi<any>, 'instrument'>,
  options: MetricsOptions = {},
): HttpHandler & { registry: Registry; detach: () => void } {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'holdfast_';
  const gauge = (
    name: string,
    help: string,
    read: (s: ReturnType<typeof server.stats>) => number | undefined,
  ) =>
    new Gauge({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        const v = read(server.stats());
        if (v !== undefined) this.set(v);
      },
    });
  gauge('connections', 'Open WebSocket connections on this node', (s) => s.connections);
  gauge('pending_connections', 'Connections that have not completed hello', (s) => s.pendingConnections);
  gauge('sessions', 'Sessions connected to this node', (s) => s.sessions);
  gauge('users', 'Distinct users connected to this node', (s) => s.users);
  gauge('rooms', 'Rooms with members', (s) => s.rooms);
  gauge('retained_messages', 'Messages retained in streams', (s) => s.retention?.messages);
  gauge('retained_bytes', 'Bytes retained in streams', (s) => s.retention?.bytes);
  gauge('inflight_handlers', 'Handlers running now', (s) => s.inflight);
  gauge('engine_healthy', 'Whether the engine reaches its storage (0: down or partitioned)', (s) =>
    s.engineHealthy === undefined ? undefined : Number(s.engineHealthy),
  );
  const counters: [string, string, keyof ReturnType<typeof server.stats>['counters']][] = [
    ['frames_in_total', 'Frames received', 'framesIn'],
    ['frames_out_total', 'Frames sent', 'framesOut'],
    ['messages_in_total', 'Client messages handled', 'messagesIn'],
    ['published_total', 'Messages published to streams', 'published'],
    ['deliveries_total', 'Stream messages written to sockets', 'deliveries'],
    ['acks_total', 'Ack frames received', 'acks'],
    ['resumes_total', 'Sessions resumed', 'resumes'],
    ['resume_failures_total', 'Resumes refused (expired or forbidden)', 'resumeFailures'],
    ['gaps_total', 'Gaps reported', 'gaps'],
    ['sessions_created_total', 'Sessions created', 'sessionsCreated'],
    ['sessions_expired_total', 'Sessions expired', 'sessionsExpired'],
    ['duplicates_total', 'Duplicate client messages answered from dedupe', 'duplicates'],
    ['volatile_drops_total', 'Volatile messages dropped under backpressure', 'volatileDrops'],
    ['presence_coalesced_total', 'Presence changes merged into a later event', 'presenceCoalesced'],
    ['handler_errors_total', 'Handlers that threw', 'handlerErrors'],
    ['engine_errors_total', 'Storage engine errors', 'engineErrors'],
  ];
  for (const [name, help, key] of counters) {
    new Counter({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(server.stats().counters[key] as number);
      },
    });
  }
  new Counter({
    name: `${p}closes_total`,
    help: 'Connections closed by the server, by close code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(server.stats().counters.closes)) this.inc({ code }, n);
    },
  });
  const buckets = [...(options.buckets ?? DEFAULT_LATENCY_BUCKETS)];
  const handlerSeconds = new Histogram({
    name: `${p}handler_duration_seconds`,
    help: 'Time in message and request handlers, by type and outcome (ok or error)',
    labelNames: ['type', 'outcome'],
    buckets,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: `${p}request_duration_seconds`,
    help: 'Round trip on the server from a client message or request to its answer (validation, dedupe, handler, storage), by type',
    labelNames: ['type'],
    buckets,
    registers: [registry],
  });
  const replaySeconds = new Histogram({
    name: `${p}replay_duration_seconds`,
    help: 'Replay after a welcome: from the first stream read to live, per connection',
    buckets,
    registers: [registry],
  });
  const clientDisconnects = new Counter({
    name: `${p}client_disconnects_total`,
    help: 'Connections closed by the client (its close frame first), by close code',
    labelNames: ['code'],
    registers: [registry],
  });
  const detach = server.instrument({
    handler: (type, ms, ok) => handlerSeconds.observe({ type, outcome: ok ? 'ok' : 'error' }, ms / 1000),
    request: (type, ms) => requestSeconds.observe({ type }, ms / 1000),
    replay: (ms) => replaySeconds.observe(ms / 1000),
    clientClose: (code) => clientDisconnects.inc({ code: String(code) }),
  });
  const handler = ((_req: IncomingMessage, res: ServerResponse) => {
    registry
      .metrics()
      .then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      })
      .catch(() => json(res, 500, { error: 'metrics unavailable' }));
  }) as HttpHandler & { registry: Registry; detach: () => void };
  handler.registry = registry;
  handler.detach = detach;
  return handler;
}
