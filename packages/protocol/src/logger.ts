/**
 * The logger both ends log to, in pino's argument order, and the `debug` switch they share.
 */

/**
 * Where Holdfast logs, in pino's argument order: the fields object first, then the message. A
 * pino logger (or any pino-compatible one: its child loggers, `console`) fits as is. Holdfast
 * never gives it tokens, resume tokens or message payloads.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const logger: Logger = pino({ level: 'debug' });
 * ```
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/**
 * Whether the environment asks for verbose logs of `namespace` (`holdfast:server`,
 * `holdfast:client`): `HOLDFAST_DEBUG` set (and not `0` or `false`), or `DEBUG` naming it the
 * way the `debug` package reads it (`DEBUG=holdfast*`, `DEBUG=holdfast`, `DEBUG=*`, comma- or
 * space-separated; a leading `-` excludes). Reads `process.env` only where `process` exists
 * (never in a browser).
 *
 * @example
 * ```ts
 * debugFromEnv('holdfast:server', { DEBUG: 'express:*,holdfast*' }); // true
 * ```
 */
export function debugFromEnv(
  namespace: string,
  env: Record<string, string | undefined> | undefined = (
    globalThis as { process?: { env?: Record<string, string | undefined> } }
  ).process?.env,
): boolean {
  if (!env) return false;
  const flag = env.HOLDFAST_DEBUG;
  if (flag !== undefined && flag !== '' && flag !== '0' && flag.toLowerCase() !== 'false') return true;
  let on = false;
  for (const part of (env.DEBUG ?? '').split(/[\s,]+/)) {
    const skip = part.startsWith('-');
    const glob = skip ? part.slice(1) : part;
    if (!glob) continue;
    const re = new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    if (re.test(namespace) || re.test('holdfast')) on = !skip;
  }
  return on;
}

/**
 * A logger that prints every level to the console with a `holdfast` prefix: what `debug: true`
 * logs to when no logger is given.
 *
 * @example
 * ```ts
 * consoleLogger('holdfast:server').info({ sessionId: 's_1' }, 'session created');
 * ```
 */
export function consoleLogger(prefix: string): Logger {
  const line = (level: string, message: string) => `${prefix} ${level}: ${message}`;
  return {
    debug: (fields, message) => console.debug(line('debug', message), fields),
    info: (fields, message) => console.info(line('info', message), fields),
    warn: (fields, message) => console.warn(line('warn', message), fields),
    error: (fields, message) => console.error(line('error', message), fields),
  };
}
