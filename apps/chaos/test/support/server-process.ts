import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ChildServer } from '@holdfast/testkit';

/** What a child server is told at start (see server-main.mjs). */
export interface ServerConfig {
  /** Names this incarnation; ticks it publishes carry it as their stream `s`. */
  name: string;
  port: number;
  /** File the `note` handler appends its runs to (`H <name> <c> <k>`). */
  handledLog: string;
  heartbeat?: { intervalMs: number; timeoutMs: number };
  sweepIntervalMs?: number;
  resumeWindowMs?: number;
  /** Notes with `pad: 'slow'` take this long in their handler. */
  slowNoteMs?: number;
  limits?: Record<string, number>;
}

/** The commands a child server answers (see server-main.mjs). */
export type ServerCommand = 'pump' | 'stopPump' | 'stats' | 'roomConnections';

const MAIN = fileURLToPath(new URL('./server-main.mjs', import.meta.url));

/** Fail early, and clearly, when the packages were not built. */
function assertBuilt(): void {
  const require = createRequire(MAIN);
  for (const pkg of ['@holdfast/server', '@holdfast/testkit']) {
    const main = require.resolve(pkg);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`pnpm build\` before the chaos suite`);
  }
}

/**
 * A Holdfast server (the built package) in a child process, killable with signals:
 * testkit's {@link ChildServer} running server-main.mjs.
 */
export type ServerProcess = ChildServer<ServerConfig, ServerCommand>;

/** Start child servers. */
export const ServerProcess = {
  /** Start a server process and wait until it listens. */
  start(config: ServerConfig): Promise<ServerProcess> {
    assertBuilt();
    return ChildServer.start<ServerConfig, ServerCommand>({
      name: config.name,
      main: MAIN,
      config,
      configEnv: 'CHAOS_SERVER',
      run: 'built',
    });
  },
};

/** One `note` handler run, as logged by a child server. */
export interface LoggedRun {
  server: string;
  c: string;
  k: number;
}

/** Parse a handled log: runs (`H`), completions of slow handlers (`D`), and other lines. */
export function readLog(path: string): { runs: LoggedRun[]; done: LoggedRun[]; lines: string[] } {
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  const parse = (l: string): LoggedRun => {
    const [, server, c, k] = l.split(' ');
    return { server: server!, c: c!, k: Number(k) };
  };
  return {
    runs: lines.filter((l) => l.startsWith('H ')).map(parse),
    done: lines.filter((l) => l.startsWith('D ')).map(parse),
    lines,
  };
}
