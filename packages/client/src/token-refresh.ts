import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { Clock, Logger } from './options.js';

/** What a {@link TokenRefresh} needs from its client. */
export interface TokenRefreshDeps {
  clock: Clock;
  /** How long before the expiry to refresh. */
  refreshBeforeMs: number;
  /** Sends `refresh {id, token}` and resolves with the `res` result (`{ expiresAt? }`). */
  send(token: string): Promise<unknown>;
  report(error: HoldfastError): void;
  logger: Logger | undefined;
}

/**
 * In-band token refresh on one connection: `refreshBeforeMs` before the token expires, ask the
 * provider for a new one and send it, then follow the new expiry. Failures are reported; the
 * connection goes on until the server closes it (4401).
 */
export class TokenRefresh {
  readonly #deps: TokenRefreshDeps;
  readonly #provider: (() => string | Promise<string>) | undefined;
  #timer: unknown;
  #expiresAt = 0;
  /** Bumped by `stop()`: a refresh in flight for an older connection is abandoned. */
  #generation = 0;

  /** `provider` is the client's token option: only a function can give a new token. */
  constructor(provider: string | (() => string | Promise<string>) | undefined, deps: TokenRefreshDeps) {
    this.#provider = typeof provider === 'function' ? provider : undefined;
    this.#deps = deps;
  }

  /** The token expires at `expiresAt` (ms since the epoch): refresh before it. */
  schedule(expiresAt: number | undefined): void {
    const provider = this.#provider;
    this.#deps.clock.clearTimeout(this.#timer);
    // A refresh that does not move the expiry forward would loop: stop and let the server close.
    if (expiresAt === undefined || !provider || expiresAt <= this.#expiresAt) return;
    this.#expiresAt = expiresAt;
    const generation = this.#generation;
    const delayMs = Math.max(0, expiresAt - this.#deps.refreshBeforeMs - this.#deps.clock.now());
    this.#timer = this.#deps.clock.setTimeout(() => void this.#run(provider, generation), delayMs);
  }

  /** The connection ended (or a new one began): forget its expiry and abandon refreshes. */
  stop(): void {
    this.#deps.clock.clearTimeout(this.#timer);
    this.#expiresAt = 0;
    this.#generation++;
  }

  async #run(provider: () => string | Promise<string>, generation: number): Promise<void> {
    try {
      const token = await provider();
      if (generation !== this.#generation) return;
      const result = (await this.#deps.send(token)) as { expiresAt?: number } | undefined;
      if (generation === this.#generation) this.schedule(result?.expiresAt);
    } catch (cause) {
      if (generation !== this.#generation) {
        this.#deps.logger?.debug('holdfast: token refresh abandoned (disconnected)');
        return;
      }
      this.#deps.report(
        cause instanceof HoldfastError
          ? cause
          : new HoldfastError(ErrorCode.Unauthorized, 'Token refresh failed', { cause }),
      );
    }
  }
}
