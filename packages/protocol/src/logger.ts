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
 * space-separated; a leading `-` excludes; `*` only at the end of a name). Reads `process.env` only where `process` exists
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
  const flag = env?.HOLDFAST_DEBUG;
  if (flag && flag !== '0' && flag !== 'false') return true;
  let on = false;
  for (const part of env?.DEBUG?.split(/[\s,]+/) ?? []) {
    const skip = part[0] === '-';
    const glob = skip ? part.slice(1) : part;
    const prefix = glob.slice(0, -1);
    for (const name of [namespace, 'holdfast'])
      if (glob && (glob === name || (glob.endsWith('*') && name.startsWith(prefix)))) on = !skip;
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
  const at = (level: keyof Logger) => (fields: Record<string, unknown>, message: string) =>
    console[level](`${prefix} ${level}: ${message}`, fields);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
