import type { AnyProtocol } from '@holdfast/protocol';
import { Growing } from './appends.js';
import type { ClientPlugin, ResolvedOptions } from './options.js';
import { TokenRefresh, type TokenRefreshHandlers } from './token-refresh.js';

export type { ClientPlugin };

/** What a plugin adds to a client: its parts (the client looks them up, never the plugins). */
interface PluginParts extends ClientPlugin {
  /** Growing messages (§10.3), for `appends`. */
  readonly growing?: (protocol: AnyProtocol) => Growing;
  /** The token refresh of a client, for `tokenRefresh`. */
  readonly refresh?: (o: ResolvedOptions, handlers: TokenRefreshHandlers) => TokenRefresh;
}

/** The part `K` that one of `plugins` adds, if any. */
export function partOf<K extends 'growing' | 'refresh'>(
  plugins: readonly ClientPlugin[] | undefined,
  part: K,
): PluginParts[K] {
  return (plugins as readonly PluginParts[] | undefined)?.find((p) => p[part])?.[part];
}

/**
 * The growing messages of a client of `protocol`, from plugin `appends`.
 * @throws {TypeError} when the protocol declares appends and the plugin is missing.
 */
export function growingOf(
  plugins: readonly ClientPlugin[] | undefined,
  protocol: AnyProtocol,
): Growing | undefined {
  const growing = partOf(plugins, 'growing')?.(protocol);
  const appendable = Object.keys(protocol.appends);
  if (appendable.length && !growing) {
    throw new TypeError(`The protocol declares appends (${appendable.join(', ')}): add plugin appends`);
  }
  return growing;
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
  growing: (protocol: AnyProtocol) => new Growing(protocol),
} satisfies PluginParts as ClientPlugin;

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
  refresh: (o: ResolvedOptions, handlers: TokenRefreshHandlers) => new TokenRefresh(o, handlers),
} satisfies PluginParts as ClientPlugin;
