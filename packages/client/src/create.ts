import type { AnyProtocol } from '@holdfast/protocol';
import { HoldfastClient } from './client.js';
import type { ClientOptions } from './options.js';

/**
 * Create a client for an app protocol. It stays `idle` until `connect()`; messages sent
 * before that are queued.
 *
 * @throws {TypeError} when the protocol declares `appends` and `plugins` lacks `appends`, or
 * when there is no WebSocket implementation.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'; // Node without a global WebSocket only
 * const client = createClient({ url: 'ws://localhost:3000', protocol: chat, WebSocket, token: 'secret' });
 * await client.connect();
 * ```
 */
export function createClient<P extends AnyProtocol>(options: ClientOptions<P>): HoldfastClient<P> {
  return new HoldfastClient(options);
}
