import type * as z from 'zod/mini';
import { type ParseOptions, parseWith, toIssues } from './codec.js';
import { HoldfastError } from './errors.js';

/**
 * Any zod v4 schema: classic `zod` and `zod/mini` schemas are both built on zod's core type,
 * so an app may write its schemas with either (or both).
 */
export type AnySchema = z.core.$ZodType;
/** A map of message type names to zod schemas of their data. */
export type SchemaMap = Record<string, AnySchema>;
/** A map of request type names to their request and response schemas. */
export type RequestSchemaMap = Record<string, { request: AnySchema; response: AnySchema }>;

/**
 * How a server message type grows by appends (extension `appends`, docs/PROTOCOL.md §10): the
 * schema of one delta, and the fold that applies a delta to the value so far. Without `fold`,
 * both the message schema and `delta` must be strings, and deltas are concatenated.
 */
export interface AppendSpec<D extends AnySchema = AnySchema> {
  /** Schema of one delta (validated on the server before it is sent, and on the client). */
  delta: D;
  /** The value after one more delta. Pure; must not mutate `value`. Default: text concatenation. */
  fold?: ((value: any, delta: any) => unknown) | undefined;
}
/** Appendable server message types, by name. */
export type AppendMap = Record<string, AppendSpec>;

/** What an app declares once, shared by its server and its clients. */
export interface ProtocolDefinition<
  C extends SchemaMap = SchemaMap,
  S extends SchemaMap = SchemaMap,
  R extends RequestSchemaMap = RequestSchemaMap,
  A extends AppendMap = AppendMap,
> {
  /** Messages clients send to the server (fire-and-ack). */
  client?: C;
  /** Messages the server sends to clients. */
  server?: S;
  /** Request/response pairs initiated by clients. */
  requests?: R;
  /**
   * Server message types that grow by appends (an AI answer token by token, an agent run step
   * by step): each names a type of `server`, the schema of a delta and the fold (annotate its
   * parameters: `(run: Run, step: Step) => Run`).
   */
  appends?: A;
}

/** The outcome of validating app data. */
export type Validated<T> = { ok: true; value: T } | { ok: false; error: HoldfastError };

/**
 * An app protocol: the declared schemas plus runtime validators. Created by
 * {@link defineProtocol}; pass the same object to the server and the client.
 */
export interface Protocol<
  C extends SchemaMap = SchemaMap,
  S extends SchemaMap = SchemaMap,
  R extends RequestSchemaMap = RequestSchemaMap,
  A extends AppendMap = AppendMap,
> {
  /** Client-to-server message schemas. */
  readonly client: C;
  /** Server-to-client message schemas. */
  readonly server: S;
  /** Request/response schemas. */
  readonly requests: R;
  /** Appendable server message types (extension `appends`). */
  readonly appends: A;
  /** Whether server message `type` grows by appends. */
  isAppendable(type: string): boolean;
  /** Validate one delta of appendable server message `type`. */
  parseDelta(type: string, data: unknown): Validated<unknown>;
  /** The value of appendable message `type` after `delta` (the declared fold, or concatenation). */
  fold(type: string, value: unknown, delta: unknown): unknown;
  /** Whether `type` is a declared client message. */
  isClientMessage(type: string): boolean;
  /** Whether `type` is a declared request. */
  isRequest(type: string): boolean;
  /**
   * Validate data a client sent as message or request `type`. `options` go to zod's
   * `safeParse` (the server passes {@link ENGLISH_MESSAGES}; without, the issues' messages are
   * those of the locale the app configured, or zod's default ones).
   */
  parseInbound(type: string, data: unknown, options?: ParseOptions): Validated<unknown>;
  /** Validate data the server sends as message `type` (`options` as for `parseInbound`). */
  parseServer(type: string, data: unknown, options?: ParseOptions): Validated<unknown>;
  /** Validate the response to request `type` (`options` as for `parseInbound`). */
  parseResponse(type: string, data: unknown, options?: ParseOptions): Validated<unknown>;
}

/** Names starting with `$` are reserved for Holdfast's own messages. */
const RESERVED = /^\$/;
const TYPE_NAME = /^[\x21-\x7e]{1,64}$/;

/** The own entry `type` of `map`, if any (never one inherited, such as `toString`). */
const own = <T>(map: Record<string, T>, type: string): T | undefined =>
  Object.hasOwn(map, type) ? map[type] : undefined;

/** Validate data of the `kind` of messages whose schema `schemaOf` looks up by type. */
function validator(kind: string, schemaOf: (type: string) => AnySchema | undefined) {
  return (type: string, data: unknown, options?: ParseOptions): Validated<unknown> => {
    const schema = schemaOf(type);
    if (!schema) {
      return {
        ok: false,
        error: new HoldfastError('UNKNOWN_MESSAGE_TYPE', `Unknown ${kind} type "${type.slice(0, 64)}"`),
      };
    }
    const r = parseWith(schema, data, options);
    if (r.success) return { ok: true, value: r.data };
    return {
      ok: false,
      error: new HoldfastError('VALIDATION_FAILED', `Invalid "${type}" ${kind}`, {
        issues: toIssues(r.error.issues),
      }),
    };
  };
}

/**
 * Declare an app's messages once: server and client get inferred TypeScript types and
 * runtime validation from the same zod schemas, written with classic `zod` or with `zod/mini`
 * (whose functions tree-shake: a browser app that uses it ships a few KB of zod, not ~95 KB).
 *
 * The definition itself (its type names, its `appends`) is checked by the server that serves
 * it: `createServer` runs {@link checkProtocol} and throws its `TypeError`. A browser bundle
 * leaves that check out.
 *
 * @example
 * ```ts
 * import * as z from 'zod/mini'; // or: import { z } from 'zod';
 * export const chat = defineProtocol({
 *   client: { say: z.object({ room: z.string(), text: z.string().check(z.maxLength(500)) }) },
 *   server: { said: z.object({ room: z.string(), from: z.string(), text: z.string() }) },
 *   requests: { history: { request: z.object({ room: z.string() }), response: z.array(z.string()) } },
 * });
 * ```
 */
export function defineProtocol<
  const C extends SchemaMap = {},
  const S extends SchemaMap = {},
  const R extends RequestSchemaMap = {},
  const A extends AppendMap = {},
>(definition: ProtocolDefinition<C, S, R, A>): Protocol<C, S, R, A> {
  const client = (definition.client ?? {}) as C;
  const server = (definition.server ?? {}) as S;
  const requests = (definition.requests ?? {}) as R;
  const appends = (definition.appends ?? {}) as A;
  // Schemas are looked up when needed, in the declared maps (a request wins over a client
  // message of the same name, which `checkProtocol` forbids anyway).
  return Object.freeze({
    client,
    server,
    requests,
    appends,
    isAppendable: (type: string) => Object.hasOwn(appends, type),
    parseDelta: validator('delta', (type) => own<AppendSpec>(appends, type)?.delta),
    fold: (type: string, value: unknown, delta: unknown) =>
      (appends[type]!.fold ?? concat)(value as string, delta as string),
    isClientMessage: (type: string) => Object.hasOwn(client, type),
    isRequest: (type: string) => Object.hasOwn(requests, type),
    parseInbound: validator('message', (type) => own(requests, type)?.request ?? own(client, type)),
    parseServer: validator('server message', (type) => own(server, type)),
    parseResponse: validator('response', (type) => own(requests, type)?.response),
  });
}

/** The fold of an `appends` type without one: text concatenation. */
const concat = (value: string, delta: string) => value + delta;
/** The zod core type name of a schema (`string`, `object`...), classic or mini alike. */
const kindOf = (schema: AnySchema): string => (schema._zod.def as { type: string }).type;

/**
 * Check a protocol's definition: what `createServer` runs on the protocol it is given (a
 * client trusts the server's check of the same definition, and leaves this code out).
 *
 * @throws {TypeError} when a type name is reserved (`$...`), not visible ASCII of 1-64
 * characters, or used both as a client message and a request; when an `appends` entry names no
 * server message type, or has no `fold` where the message or its delta is not a string.
 *
 * @example
 * ```ts
 * checkProtocol(defineProtocol({ client: { $x: z.null() } })); // TypeError: ... reserved
 * ```
 */
export function checkProtocol({ client, server, requests, appends }: AnyProtocol): void {
  for (const [name, spec] of Object.entries(appends) as [string, AppendSpec][]) {
    if (!Object.hasOwn(server, name)) throw new TypeError(`appends "${name}" is not a server message type`);
    if (!spec.fold && (kindOf(server[name]!) !== 'string' || kindOf(spec.delta) !== 'string')) {
      throw new TypeError(
        `appends "${name}" needs a fold: only string messages with string deltas concatenate`,
      );
    }
  }
  for (const [kind, map] of [
    ['client', client],
    ['server', server],
    ['requests', requests],
  ] as const) {
    for (const name of Object.keys(map)) {
      if (!TYPE_NAME.test(name))
        throw new TypeError(`${kind} type "${name}" must be 1-64 visible ASCII characters`);
      if (RESERVED.test(name))
        throw new TypeError(`${kind} type "${name}" is reserved: names starting with $ are`);
    }
  }
  for (const name of Object.keys(requests)) {
    if (Object.hasOwn(client, name)) throw new TypeError(`"${name}" is both a client message and a request`);
  }
}

/** Any protocol, for generic code. */
export type AnyProtocol = Protocol<SchemaMap, SchemaMap, RequestSchemaMap, AppendMap>;

/** `{ type: delta }` of the appendable server messages (zod output types, as clients fold them). */
export type AppendDeltas<P extends AnyProtocol> = {
  [K in keyof P['appends'] & string]: z.output<P['appends'][K]['delta']>;
};
/** `{ type: delta }` of the appendable server messages as the server writes them (zod input types). */
export type AppendDeltaInputs<P extends AnyProtocol> = {
  [K in keyof P['appends'] & string]: z.input<P['appends'][K]['delta']>;
};

/** `{ type: data }` of the messages clients send (zod output types). */
export type ClientMessages<P extends AnyProtocol> = {
  [K in keyof P['client'] & string]: z.output<P['client'][K]>;
};
/** `{ type: data }` of client messages as the client writes them (zod input types). */
export type ClientMessageInputs<P extends AnyProtocol> = {
  [K in keyof P['client'] & string]: z.input<P['client'][K]>;
};
/** `{ type: data }` of the messages the server sends (zod output types). */
export type ServerMessages<P extends AnyProtocol> = {
  [K in keyof P['server'] & string]: z.output<P['server'][K]>;
};
/** `{ type: data }` of server messages as the server writes them (zod input types). */
export type ServerMessageInputs<P extends AnyProtocol> = {
  [K in keyof P['server'] & string]: z.input<P['server'][K]>;
};
/** `{ type: request data }` of the requests (output types, as handlers see them). */
export type Requests<P extends AnyProtocol> = {
  [K in keyof P['requests'] & string]: z.output<P['requests'][K]['request']>;
};
/** `{ type: request data }` as the client writes them (input types). */
export type RequestInputs<P extends AnyProtocol> = {
  [K in keyof P['requests'] & string]: z.input<P['requests'][K]['request']>;
};
/** `{ type: response }` as the client receives them (output types). */
export type Responses<P extends AnyProtocol> = {
  [K in keyof P['requests'] & string]: z.output<P['requests'][K]['response']>;
};
/** `{ type: response }` as handlers return them (input types). */
export type ResponseInputs<P extends AnyProtocol> = {
  [K in keyof P['requests'] & string]: z.input<P['requests'][K]['response']>;
};
