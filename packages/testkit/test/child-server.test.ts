import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildServer } from '../src/index.js';

const closedFile = join(mkdtempSync(join(tmpdir(), 'testkit-child-')), 'closed');
const MAIN = fileURLToPath(new URL('./support/echo-child.ts', import.meta.url));
interface Config {
  greeting: string;
  closedFile: string;
}
const started: ChildServer<unknown>[] = [];
afterEach(async () => {
  for (const c of started.splice(0)) await c.stop();
});

async function child(closeCommand?: string): Promise<ChildServer<Config, 'echo' | 'fail' | 'close'>> {
  const c = await ChildServer.start<Config, 'echo' | 'fail' | 'close'>({
    name: 'echo',
    main: MAIN,
    config: { greeting: 'hi', closedFile },
    configEnv: 'ECHO_CHILD',
    run: 'source',
    ...(closeCommand ? { closeCommand } : {}),
  });
  started.push(c);
  return c;
}

// A child transpiles its TypeScript on start: seconds on a busy machine.
describe('ChildServer', { timeout: 60_000 }, () => {
  it('starts a child from the sources, hands it its config and answers requests over IPC', async () => {
    const c = await child();
    expect(c.url).toBe('ws://127.0.0.1:1');
    expect(c.ready.pid).toBe(c.proc.pid);
    expect(await c.request('echo', [1, 'two'])).toEqual({ greeting: 'hi', value: [1, 'two'] });
    await expect(c.request('fail')).rejects.toThrow('asked to fail');
  });

  it('records how the child died and fails requests after that', async () => {
    const c = await child();
    await c.kill('SIGKILL');
    expect(c.exit?.signal).toBe('SIGKILL');
    await expect(c.request('echo', 1)).rejects.toThrow('echo has exited');
  });

  it('stop() asks the close command first, and is done once the child is gone', async () => {
    const c = await child('close');
    expect(existsSync(closedFile)).toBe(false);
    const asked = c.request('echo', 'before');
    await c.stop();
    expect(await asked).toEqual({ greeting: 'hi', value: 'before' });
    expect(readFileSync(closedFile, 'utf8')).toBe('closed');
    expect(c.exit).toBeDefined();
    await expect(c.request('echo', 1)).rejects.toThrow('echo has exited');
  });

  it('reports a child that dies before it is ready, with its stderr', async () => {
    await expect(
      ChildServer.start({
        name: 'broken',
        main: `${MAIN}.missing.ts`,
        config: {},
        configEnv: 'X',
        run: 'source',
      }),
    ).rejects.toThrow(/broken exited before ready:\n[\s\S]*Cannot find module/);
  });
});
