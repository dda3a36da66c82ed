import type { ChildMessage, ChildRequest } from './child-server.js';

/** What the child answers: one function per command. */
export type ChildCommands = Record<string, (...args: never[]) => unknown>;

/**
 * The child's side of {@link ChildServer}: answer the parent's requests with `commands`
 * (a rejection or throw becomes an error reply), exit when the parent goes away, and say
 * `ready` (with the URL the server listens on and anything else the parent wants).
 *
 * @example
 * ```ts
 * await server.ready();
 * serveParent({ stats: () => server.stats() }, { url: server.url() });
 * ```
 */
export function serveParent(commands: ChildCommands, ready: { url?: string; [key: string]: unknown }): void {
  const send = (m: ChildMessage) => process.send?.(m);
  process.on('message', (raw) => {
    const m = raw as ChildRequest;
    void (async () => {
      try {
        const command = commands[m.cmd];
        if (!command) throw new Error(`unknown command ${m.cmd}`);
        const value = await (command as (...args: unknown[]) => unknown)(...m.args);
        send({ type: 'reply', id: m.id, ok: true, value: value ?? null });
      } catch (err) {
        send({ type: 'reply', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...ready });
}
