import type { ResolvedOptions } from './options.js';
import { HoldfastError } from './protocol.js';

/** What a {@link TokenRefresh} asks of its client. */
export interface TokenRefreshHandlers {
  /** The current connection (any value compared by identity; none when disconnected). */
  current(): unknown;
  /** Send a `refresh` frame with the new token; resolves with its `res` result. */
  refresh(token: string): Promise<unknown>;
  /** Report a failed refresh (an `error` event). */
  report(error: HoldfastError): void;
}

/**
 * In-band token refresh: the token of a connection expires at `expiresAt` (ms since the
 * epoch), so `refreshBeforeMs` before it, ask the provider (only a function can give a new
 * token) for a new one and send it (`refresh`), then follow the new expiry. Failures are
 * reported; the connection goes on until the server closes it (4401). A refresh in flight
 * when its connection ends is abandoned.
 */
export class TokenRefresh {
  #timer: unknown;
  /** The token expiry the current connection follows (0: none yet). */
  #expiresAt = 0;
  readonly #o: ResolvedOptions;
  readonly #h: TokenRefreshHandlers;

  /** Uses the client's `token` provider, `clock`, `refreshBeforeMs` and `logger` options. */
  constructor(o: ResolvedOptions, handlers: TokenRefreshHandlers) {
    this.#o = o;
    this.#h = handlers;
  }

  /** Follow the expiry of the current connection's token (from `welcome` or a refresh's `res`). */
  schedule(expiresAt: number | undefined): void {
    const { token: provider, clock, refreshBeforeMs } = this.#o;
    const h = this.#h;
    const conn = h.current();
    clock.clearTimeout(this.#timer);
    // A refresh that does not move the expiry forward would loop: stop and let the server close.
    if (expiresAt === undefined || typeof provider !== 'function' || expiresAt <= this.#expiresAt) return;
    this.#expiresAt = expiresAt;
    const refresh = async () => {
      try {
        const token = await provider();
        if (h.current() !== conn) return;
        const result = (await h.refresh(token)) as { expiresAt?: number } | undefined;
        if (h.current() === conn) this.schedule(result?.expiresAt);
      } catch (cause) {
        if (h.current() !== conn)
          return this.#o.logger?.debug({}, 'holdfast: token refresh abandoned (disconnected)');
        h.report(
          cause instanceof HoldfastError
            ? cause
            : new HoldfastError('UNAUTHORIZED', 'Token refresh failed', { cause }),
        );
      }
    };
    this.#timer = clock.setTimeout(refresh, Math.max(0, expiresAt - refreshBeforeMs - clock.now()));
  }

  /** The connection ended: cancel the next refresh and forget its expiry. */
  stop(): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#expiresAt = 0;
  }
}
