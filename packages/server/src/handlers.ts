import type { AnyProtocol, ClientMessages, Requests, ResponseInputs } from '@holdfast/protocol';
import type { HoldfastServer } from './server.js';

/** Types a client can send: its messages and its requests. */
export type InboundType<P extends AnyProtocol> =
  | (keyof P['client'] & string)
  | (keyof P['requests'] & string);

/** What a handler knows about the message it handles. */
export interface HandlerContext<P extends AnyProtocol> {
  /** The server, to send replies or publish. */
  server: HoldfastServer<P>;
  /** The sending session. */
  sessionId: string;
  /** The authenticated user of the session. */
  user: string;
  /** The connection the message arrived on. */
  connectionId: string;
  /** The client-made message id (stable across resends). */
  messageId: string;
  /** App data from authentication. */
  data: Record<string, unknown> | undefined;
}

/**
 * A handler of a client message (its return value is sent in the ack) or of a request (it
 * returns the typed response).
 */
export type Handler<P extends AnyProtocol, K extends string = string> = K extends keyof Requests<P>
  ? (data: Requests<P>[K], ctx: HandlerContext<P>) => ResponseInputs<P>[K] | Promise<ResponseInputs<P>[K]>
  : K extends keyof ClientMessages<P>
    ? (data: ClientMessages<P>[K], ctx: HandlerContext<P>) => unknown
    : (data: unknown, ctx: HandlerContext<P>) => unknown;
