import type { AnyProtocol } from '@holdfast/protocol';
import { Growing } from './appends.js';
import type { ResolvedOptions } from './options.js';
import { TokenRefresh, type TokenRefreshHandlers } from './token-refresh.js';

/**
 * A part of the client that only some apps use, added with the `plugins` option. The client
 * itself does not import them, so a bundle ships only the plugins the app imports:
 * - {@link appends}: messages that grow by appends (extension `appends`, docs/PROTOCOL.md §10);
 *   required when the protocol declares `appends`.
 * - {@link tokenRefresh}: in-band token refresh before the token expires (§4.7).
 *
 * @example
 * ```ts
 * import { appends, createClient, tokenRefresh } from '@holdfast/client';
 * const client = createClient({ url, protocol: ai, token: getToken, plugins: [appends, tokenRefresh] });
 * ```
 */
export interface ClientPlugin {
  /** The plugin's name: `appends` or `tokenRefresh`. */
  readonly name: string;
  /** Growing messages (§10.3), for `appends`. */
  readonly growing?: (protocol: AnyProtocol) => Growing;
  /** The token refresh of a client, for `tokenRefresh`. */
  readonly refresh?: (o: ResolvedOptions, handlers: TokenRefreshHandlers) => TokenRefresh;
}

/**
 * Plugin `appends` (extension `appends`, docs/PROTOCOL.md §10): a message of an appendable type
 * grows by `app` frames, folded with the protocol's `fold`, delivered exactly once across
 * reconnects, resumes and reloads; its listeners get the value so far on each update, with a
 * `GrowingMeta`. A client whose protocol declares `appends` needs it (`createClient` throws a
 * `TypeError` without).
 *
 * @example
 * ```ts
 * const client = createClient({ url, protocol: ai, plugins: [appends] });
 * client.on('answer', (text, { key, done }) => render(key, text, done));
 * ```
 */
export const appends: ClientPlugin = {
  name: 'appends',
  growing: (protocol) => new Growing(protocol),
};

/**
 * Plugin `tokenRefresh` (docs/PROTOCOL.md §4.7): when the `welcome` announces
 * `limits.tokenExpiresAt` and `token` is a function, the client asks it for a new token
 * `refreshBeforeMs` before the expiry and sends it in-band (`refresh`), keeping the connection.
 * Without it, the server closes the connection at the expiry (4401) and the client reconnects
 * and resumes with a new token from the provider.
 *
 * @example
 * ```ts
 * const client = createClient({ url, protocol, token: () => fetchToken(), plugins: [tokenRefresh] });
 * ```
 */
export const tokenRefresh: ClientPlugin = {
  name: 'tokenRefresh',
  refresh: (o, handlers) => new TokenRefresh(o, handlers),
};
