/**
 * `@holdfast/server/metrics`: Prometheus metrics for a Holdfast server, on `prom-client` (an
 * optional peer dependency: install it to use this entry; the main entry never loads it).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
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
}

/**
 * Serve Prometheus metrics (text format) from a registry of its own (never the global one).
 * Pass `registry` to add Holdfast's metrics to yours.
 *
 * @example
 * ```ts
 * import { metricsHandler } from '@holdfast/server/metrics';
 * app.get('/metrics', metricsHandler(server));
 * ```
 */
export function metricsHandler(
  server: AnyServer,
  options: MetricsOptions = {},
): HttpHandler & { registry: Registry } {
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
  const handler = ((_req: IncomingMessage, res: ServerResponse) => {
    registry
      .metrics()
      .then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      })
      .catch(() => json(res, 500, { error: 'metrics unavailable' }));
  }) as HttpHandler & { registry: Registry };
  handler.registry = registry;
  return handler;
}
