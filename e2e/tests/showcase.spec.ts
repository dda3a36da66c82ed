import { PRESENCE_GRACE_MS } from '../playwright.config.js';
import { chatLines, expect, joinRoom, nameFor, openUser, roomFor, say, test } from './fixtures.js';

// What a newcomer tries first, on a desktop and (project `phone`) on a phone-sized screen.

test('the chat survives a reload: lines, room, marks, the step list where it was scrolled, the drafts', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const me = nameFor('nora');
  const a = await openUser(browser, me, baseURL!);
  contexts.push(a.context);
  const { page } = a;
  const room = roomFor('reload-chat');
  await joinRoom(page, room);
  for (const text of ['one', 'two', 'three']) await say(page, text);
  await expect(page.locator('[data-mark="handled"]')).toHaveCount(3);
  await page.getByTestId('steps-input').fill('80');
  await page.getByTestId('tokens-input').fill('30');
  await page.getByTestId('interval-input').fill('5');
  await page.getByTestId('start-run').click();
  await expect(page.getByTestId('run-status')).toContainText('— done');
  const answer = await page.getByTestId('answer').textContent();
  expect(answer?.length).toBeGreaterThan(0);
  const scrolled = await page.getByTestId('steps').evaluate((el) => {
    el.scrollTop = 200;
    el.dispatchEvent(new Event('scroll'));
    return el.scrollTop;
  });
  expect(scrolled).toBe(200);
  await page.getByTestId('chat-input').fill('half a thought');
  await page.getByTestId('steps-input').fill('123');

  await page.reload();
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('current-room')).toHaveText(`#${room}`);
  await expect.poll(() => chatLines(page)).toEqual([`${me}: one`, `${me}: two`, `${me}: three`]);
  await expect(page.locator('[data-mark="handled"]')).toHaveCount(3);
  await expect(page.getByTestId('steps').locator('li')).toHaveCount(80);
  await expect(page.getByTestId('answer')).toHaveText(answer!);
  expect(await page.getByTestId('steps').evaluate((el) => el.scrollTop)).toBe(200);
  await expect(page.getByTestId('chat-input')).toHaveValue('half a thought');
  await expect(page.getByTestId('steps-input')).toHaveValue('123');
  expect(a.errors).toEqual([]);
});

test('a room name outside the rule shows the rule (not FORBIDDEN)', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, nameFor('otto'), baseURL!);
  contexts.push(a.context);
  await a.page.getByTestId('room-input').fill('Random Room');
  await a.page.getByTestId('join').click();
  const error = a.page.getByTestId('room-error');
  await expect(error).toContainText('lowercase letters, digits and dashes');
  await expect(error).toContainText('"random-room"');
  await expect(error).not.toContainText('FORBIDDEN');
  await expect(a.page.getByTestId('room-input')).toHaveValue('Random Room');
});

test("the typing indicator clears when the typist's message arrives", async ({
  browser,
  baseURL,
  contexts,
}) => {
  const room = roomFor('typing');
  const a = await openUser(browser, nameFor('pia'), baseURL!);
  const b = await openUser(browser, nameFor('quin'), baseURL!);
  contexts.push(a.context, b.context);
  await joinRoom(a.page, room);
  await joinRoom(b.page, room);
  await b.page.getByTestId('chat-input').fill('on my way');
  await expect(a.page.getByTestId('typing')).toHaveText(`${nameFor('quin')} is typing…`);
  await b.page.getByTestId('send').click();
  await expect(a.page.getByTestId('messages').locator('li').last()).toContainText('on my way');
  // Read at once, no waiting: cleared by the message itself, not by the indicator's timeout.
  expect(await a.page.getByTestId('typing').textContent()).toBe('');
});

test('presence drops a closed tab within the grace period', async ({ browser, baseURL, contexts }) => {
  const room = roomFor('presence');
  const [uma, vic] = [nameFor('uma'), nameFor('vic')];
  const a = await openUser(browser, uma, baseURL!);
  const b = await openUser(browser, vic, baseURL!);
  contexts.push(a.context);
  await joinRoom(a.page, room);
  await joinRoom(b.page, room);
  const members = a.page.getByTestId('members').locator('li');
  await expect(members).toHaveText([uma, vic]);
  await b.context.close(); // the tab is gone; its session could still resume for minutes
  // Gone from Members after the grace (plus the server's 1 s presence window), not the resume window.
  await expect(members).toHaveText([uma], { timeout: PRESENCE_GRACE_MS + 1000 + 3000 });
});

test('a second browser cannot sign in, so cannot post, as a name another browser holds', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const name = nameFor('rosa');
  const a = await openUser(browser, name, baseURL!);
  contexts.push(a.context);
  const other = await browser.newContext({ baseURL });
  contexts.push(other);
  const page = await other.newPage();
  await page.goto('/');
  await page.getByTestId('name').fill(name);
  await page.getByTestId('signin').click();
  await expect(page.getByTestId('login-error')).toContainText('another browser');
  await expect(page.getByTestId('login')).toBeVisible();
  await expect(page.getByTestId('state')).toHaveText('idle');
  // Nor through the API: no token for that name without the holder's secret.
  const res = await other.request.post('/api/login', { data: { name, secret: 'guessed-secret-0123456789' } });
  expect(res.status()).toBe(409);
  // The holder is unaffected, and another tab of the holder's browser signs in fine.
  await expect(a.page.getByTestId('state')).toHaveText('connected');
  const tab = await openUser(browser, name, baseURL!, undefined, a.context);
  await expect(tab.page.getByTestId('user')).toHaveText(name);
});

test('after "Go offline", the header proves the resume: replayed N messages, 0 duplicates, 0 gaps', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, nameFor('sam'), baseURL!);
  contexts.push(a.context);
  const { page } = a;
  await page.getByTestId('steps-input').fill('40');
  await page.getByTestId('tokens-input').fill('30');
  await page.getByTestId('interval-input').fill('50');
  await page.getByTestId('start-run').click();
  await expect.poll(() => page.getByTestId('steps').locator('li').count()).toBeGreaterThanOrEqual(5);
  await page.getByTestId('offline').click();
  await expect(page.getByTestId('state')).not.toHaveText('connected');
  const answer = page.getByTestId('answer');
  // The run (3.5 s) goes on, and ends, while the page is away (5 s).
  await expect(answer).toHaveAttribute('data-done', 'false');
  const seenSteps = await page.getByTestId('steps').locator('li').count();
  const seenTokens = ((await answer.textContent()) ?? '').split(' ').filter(Boolean).length;
  await expect(page.getByTestId('state')).toHaveText('connected', { timeout: 20_000 });
  // Every step and token the page had not seen (or a snapshot standing for them), and the end.
  const missed = 40 - seenSteps + (30 - seenTokens) + 1;
  await expect(page.getByTestId('proof')).toHaveText(
    `Resumed: replayed ${missed} messages, 0 duplicates, 0 gaps`,
  );
  await expect(page.getByTestId('run-status')).toContainText('40 / 40 steps, 30 / 30 tokens — done');
  const steps = await page.getByTestId('steps').locator('li').allTextContents();
  expect(steps.map((s) => Number(/^#(\d+)/.exec(s)?.[1]))).toEqual(
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  // The plan is in the agent panel, not in the connection log.
  await expect(page.getByTestId('plan')).toContainText('Plan: understand the task');
  await expect(page.getByTestId('notices')).not.toContainText('plan');
});

test('the page fits the screen, the header stays in view, the first-visit hint can be dismissed', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const a = await openUser(browser, nameFor('tara'), baseURL!);
  contexts.push(a.context);
  const { page } = a;
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByTestId('hint')).toBeVisible();
  await page.getByTestId('hint-close').click();
  await expect(page.getByTestId('hint')).toBeHidden();
  await say(page, 'x'.repeat(300));
  await expect(page.getByTestId('chat-error')).toContainText('280');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect(page.getByTestId('state')).toBeInViewport();
  await page.reload();
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('hint')).toBeHidden();
  expect(a.errors).toEqual([]);
});
