import type { Page } from '@playwright/test';
import { answerTokens } from '../../apps/demo/src/shared/answer.js';
import { chatLines, expect, joinRoom, openUser, roomFor, say, test } from './fixtures.js';

// The agent run's answer streamed token by token with appends, and the chat's recent past shown
// through rewind (issue 19). Every wait is on the page's DOM; every run's final text must equal,
// character for character, the text the server sent (no token missing, none twice).

const TASK = 'Summarise the week';
// Runs last 10-15 s (tokens at 25-40 ms): long enough that a reload or a second device lands
// mid-answer even on a loaded machine; the whole file gets a generous timeout for the same reason.
test.describe.configure({ timeout: 120_000 });
const answerOf = (page: Page) => page.getByTestId('answer');
/** Tokens the page shows so far (each token is a word and its space). */
const tokensShown = async (page: Page) =>
  ((await answerOf(page).textContent()) ?? '').split(' ').filter(Boolean).length;

async function startRun(page: Page, steps: number, tokens: number, intervalMs: number): Promise<string> {
  await page.getByTestId('steps-input').fill(String(steps));
  await page.getByTestId('tokens-input').fill(String(tokens));
  await page.getByTestId('interval-input').fill(String(intervalMs));
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-id')).toHaveText(/^run-[0-9a-f]{8}$/);
  return (await page.getByTestId('run-id').textContent())!;
}

/** The run ended: the whole answer, exactly, and every step once, in order. */
async function expectComplete(page: Page, steps: number, tokens: number): Promise<void> {
  await expect(answerOf(page)).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  expect(await answerOf(page).textContent()).toBe(answerTokens(TASK, tokens).join(''));
  const shown = await page.getByTestId('steps').locator('li').allTextContents();
  expect(shown.map((s) => Number(/^#(\d+)/.exec(s)?.[1]))).toEqual(
    Array.from({ length: steps }, (_, i) => i + 1),
  );
  await expect(page.getByTestId('run-status')).toContainText(
    `${steps} / ${steps} steps, ${tokens} / ${tokens} tokens — done`,
  );
  await expect(page.getByTestId('progress')).toHaveAttribute('aria-valuenow', '100');
}

test('a reload mid-answer shows the answer so far at once, then the rest live, each token once', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, 'ursula', baseURL!);
  contexts.push(a.context);
  const { page } = a;
  const runId = await startRun(page, 5, 300, 40);
  await expect.poll(() => tokensShown(page)).toBeGreaterThanOrEqual(30);
  const before = (await answerOf(page).textContent())!;
  await page.reload();
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('run-id')).toHaveText(runId);
  // The server sends the run as folded so far (a snapshot), then the rest: everything the page
  // had before the reload, while the run still goes on.
  await expect
    .poll(async () => (await answerOf(page).textContent())!.length)
    .toBeGreaterThanOrEqual(before.length);
  expect((await answerOf(page).textContent())!.startsWith(before)).toBe(true);
  await expect(answerOf(page)).toHaveAttribute('data-done', 'false');
  await expectComplete(page, 5, 300);
  expect(a.errors).toEqual([]);
});

test('a second device joins the run mid-answer: the text so far, then the rest live, same final text', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, 'victor', baseURL!);
  const b = await openUser(browser, 'wanda', baseURL!);
  contexts.push(a.context, b.context);
  const runId = await startRun(a.page, 5, 300, 40);
  await expect.poll(() => tokensShown(a.page)).toBeGreaterThanOrEqual(30);
  const before = (await answerOf(a.page).textContent())!;
  await b.page.getByTestId('watch-input').fill(runId);
  await b.page.getByTestId('watch').click();
  await expect(b.page.getByTestId('run-id')).toHaveText(runId);
  // Everything device A had when B asked, in B's first drawing of the run, before the run ends.
  await expect
    .poll(async () => (await answerOf(b.page).textContent())!.length)
    .toBeGreaterThanOrEqual(before.length);
  expect((await answerOf(b.page).textContent())!.startsWith(before)).toBe(true);
  await expect(answerOf(b.page)).toHaveAttribute('data-done', 'false');
  await expectComplete(b.page, 5, 300);
  await expectComplete(a.page, 5, 300);
  expect(await answerOf(b.page).textContent()).toBe(await answerOf(a.page).textContent());
  expect(a.errors).toEqual([]);
  expect(b.errors).toEqual([]);
});

test('the socket dropped mid-token, twice: the answer ends exact, the header proves 0 duplicates, 0 gaps', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, 'xena', baseURL!);
  contexts.push(a.context);
  const { page } = a;
  await startRun(page, 5, 400, 25);
  for (const at of [40, 150]) {
    await expect.poll(() => tokensShown(page)).toBeGreaterThanOrEqual(at);
    // The demo's fault wrapper closes the socket as a network failure would, frames in flight.
    await page.getByTestId('drop').click();
    await expect(page.getByTestId('state')).not.toHaveText('connected');
    await expect(page.getByTestId('state')).toHaveText('connected');
    await expect(page.getByTestId('proof')).toHaveText(
      /^Resumed: replayed \d+ messages?, 0 duplicates, 0 gaps$/,
    );
  }
  await expectComplete(page, 5, 400);
  await expect(page.getByTestId('notices').locator('[data-kind="proof"]')).toHaveCount(2);
  await expect(page.getByTestId('notices').locator('[data-kind="proof"]').first()).toContainText(
    '0 duplicates, 0 gaps',
  );
  expect(a.errors).toEqual([]);
});

test('offline for 5 s mid-answer: the missed steps and tokens arrive once, the text is exact', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, 'yves', baseURL!);
  contexts.push(a.context);
  const { page } = a;
  await startRun(page, 20, 300, 40);
  await expect.poll(() => tokensShown(page)).toBeGreaterThanOrEqual(20);
  await page.getByTestId('offline').click();
  await expect(page.getByTestId('state')).not.toHaveText('connected');
  const seen = await tokensShown(page);
  expect(seen).toBeLessThan(300); // the run (13 s) goes on while the page is away (5 s)
  await expect(page.getByTestId('state')).toHaveText('connected', { timeout: 20_000 });
  await expect(page.getByTestId('proof')).toHaveText(
    /^Resumed: replayed \d+ messages?, 0 duplicates, 0 gaps$/,
  );
  await expectComplete(page, 20, 300);
});

test('chat: a newcomer sees the recent lines on join, and every line again after a reload (rewind)', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const room = roomFor('rewind');
  const a = await openUser(browser, 'zack', baseURL!);
  contexts.push(a.context);
  await joinRoom(a.page, room);
  const said = ['first', 'second', 'third', 'fourth'];
  for (const text of said) await say(a.page, text);
  await expect(a.page.locator('[data-mark="handled"]')).toHaveCount(4);
  // A newcomer, in another browser: the room's recent past, then live.
  const b = await openUser(browser, 'yara', baseURL!);
  contexts.push(b.context);
  await joinRoom(b.page, room);
  const past = said.map((t) => `zack: ${t}`);
  await expect.poll(() => chatLines(b.page)).toEqual(past);
  await say(b.page, 'hello all');
  await expect.poll(() => chatLines(a.page)).toEqual([...past, 'yara: hello all']);
  // A reload keeps nothing of the chat in the page: the lines come back from the room, once each.
  await b.page.reload();
  await expect(b.page.getByTestId('state')).toHaveText('connected');
  await expect(b.page.getByTestId('current-room')).toHaveText(`#${room}`);
  await expect.poll(() => chatLines(b.page)).toEqual([...past, 'yara: hello all']);
  await say(a.page, 'after the reload');
  await expect.poll(() => chatLines(b.page)).toEqual([...past, 'yara: hello all', 'zack: after the reload']);
  expect(b.errors).toEqual([]);
});
