import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Browser, type BrowserContext, test as base, expect, type Page } from '@playwright/test';

/** Console errors a page logged, minus those a scenario expects (network failures it caused). */
export interface Watched {
  page: Page;
  errors: string[];
}

/** A user name unique to the running project (the demo's server holds a name for one browser). */
export function nameFor(name: string): string {
  const project = test.info().project.name;
  return project === 'desktop' ? name : `${name}-${project.slice(0, 1)}`;
}

/**
 * A signed-in demo page. In its own browser context (its own storage: another browser) unless
 * `context` is given (another tab of the same browser: its own sessionStorage, so its own session).
 */
export async function openUser(
  browser: Browser,
  name: string,
  baseURL: string,
  viewport?: { width: number; height: number },
  shared?: BrowserContext,
) {
  const context =
    shared ??
    (await browser.newContext({
      baseURL,
      ...(viewport
        ? { viewport }
        : test.info().project.name === 'desktop'
          ? { viewport: { width: 1280, height: 900 } }
          : {}),
    }));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('/');
  await page.getByTestId('name').fill(name);
  await page.getByTestId('signin').click();
  await expect(page.getByTestId('state')).toHaveText('connected');
  return { context, page, errors };
}

/** Join (and select) a room from the UI. */
export async function joinRoom(page: Page, room: string) {
  await page.getByTestId('room-input').fill(room);
  await page.getByTestId('join').click();
  await expect(page.getByTestId('current-room')).toHaveText(`#${room}`);
}

/** Send a chat line from the UI. */
export async function say(page: Page, text: string) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('send').click();
}

/** The chat lines shown, as "from: text". */
export async function chatLines(page: Page): Promise<string[]> {
  return page
    .getByTestId('messages')
    .locator('li')
    .evaluateAll((lis) =>
      lis.map((li) => `${li.querySelector('.from')?.textContent}: ${li.querySelector('.text')?.textContent}`),
    );
}

/** A unique, valid room name per test. */
export function roomFor(title: string): string {
  return `r-${title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 24)}-${Date.now().toString(36)}`;
}

/** Start a demo process of its own (for the restart scenario) on a fixed free port. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

export async function startDemoProcess(
  port: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../../apps/demo/dist/server/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      NODE_NAME: `node-${port}`,
      JWT_SECRET: 'e2e-restart-secret',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(child, 'Holdfast demo on');
  return child;
}

/** Resolve when the child prints a line containing `text` on stdout. */
async function waitForLine(child: ChildProcess, text: string): Promise<void> {
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    if (out.includes(text)) return;
  }
  throw new Error(`process exited before printing "${text}"`);
}

/** A redis-server of the test's own on a free port (nothing kept on disk). */
export async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await waitForLine(child, 'Ready to accept connections');
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** The demo's round-robin balancer in front of `targets`. */
export async function startBalancer(port: number, targets: number[]): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '../../apps/demo/dist/server/balancer.js'),
      String(port),
      ...targets.map(String),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await waitForLine(child, 'balancing');
  return child;
}

export const test = base.extend<{ contexts: BrowserContext[] }>({
  // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures take an object pattern
  contexts: async ({}, use) => {
    const list: BrowserContext[] = [];
    await use(list);
    for (const c of list) await c.close();
  },
});
export { expect };
