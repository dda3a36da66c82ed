import type { Browser, Page } from '@playwright/test';
import { expect, roomFor, test } from './fixtures.js';

// The React example (apps/react-example) with React's development build and StrictMode on,
// so every effect really mounts, unmounts and mounts again.

/** Frames a page's WebSockets sent, parsed. */
type Frames = { t: string; room?: string }[];

/** A signed-in example page in its own context, recording the frames its sockets send. */
async function openExample(browser: Browser, baseURL: string, user: string, room: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  const sent: Frames = [];
  const errors: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(JSON.parse(String(f.payload)))));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('/');
  await page.getByTestId('name').fill(user);
  await page.getByTestId('room').fill(room);
  await page.getByTestId('signin').click();
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('room-status')).toHaveText('joined');
  const count = (t: string) => sent.filter((f) => f.t === t && f.room === room).length;
  return { context, page, sent, errors, joins: () => count('join'), leaves: () => count('leave') };
}

async function say(page: Page, text: string) {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('send').click();
}

const lines = (page: Page) =>
  page
    .getByTestId('messages')
    .locator('li')
    .evaluateAll((lis) =>
      lis.map((li) => `${li.querySelector('.from')?.textContent}: ${li.querySelector('.text')?.textContent}`),
    );

async function membersOf(page: Page, room: string): Promise<string[]> {
  const res = await page.request.get(`/api/rooms/${room}/members`);
  return ((await res.json()) as { user: string }[]).map((m) => m.user).sort();
}

test('two users chat: each sees both, in order, with presence', async ({ browser, baseURL, contexts }) => {
  const room = roomFor('react-chat');
  const a = await openExample(browser, baseURL!, 'alice', room);
  const b = await openExample(browser, baseURL!, 'bob', room);
  contexts.push(a.context, b.context);
  await expect(a.page.getByTestId('members').locator('li')).toHaveText(['alice', 'bob']);
  await expect(b.page.getByTestId('members').locator('li')).toHaveText(['alice', 'bob']);
  const expected: string[] = [];
  for (let i = 1; i <= 3; i++) {
    await say(a.page, `a${i}`);
    expected.push(`alice: a${i}`);
    await expect(b.page.getByTestId('messages').locator('li').last()).toContainText(`a${i}`);
    await say(b.page, `b${i}`);
    expected.push(`bob: b${i}`);
    await expect(a.page.getByTestId('messages').locator('li').last()).toContainText(`b${i}`);
  }
  await expect.poll(() => lines(a.page)).toEqual(expected);
  await expect.poll(() => lines(b.page)).toEqual(expected);
  // StrictMode mounted every effect twice: still one socket and one join per page.
  for (const p of [a, b]) {
    expect(p.joins()).toBe(1);
    expect(p.sent.filter((f) => f.t === 'hello')).toHaveLength(1);
    expect(p.errors).toEqual([]);
  }
});

test('a dropped socket and an offline period lose nothing', async ({ browser, baseURL, contexts }) => {
  const room = roomFor('react-offline');
  const a = await openExample(browser, baseURL!, 'carol', room);
  const b = await openExample(browser, baseURL!, 'dave', room);
  contexts.push(a.context, b.context);

  await b.page.getByTestId('drop').click();
  await say(a.page, 'while dropped');
  await say(b.page, 'from dropped');
  await expect(b.page.getByTestId('state')).toHaveText('connected');

  await b.page.getByTestId('offline').click();
  await expect(b.page.getByTestId('state')).not.toHaveText('connected');
  for (let i = 1; i <= 3; i++) await say(a.page, `online ${i}`);
  await say(b.page, 'queued offline');
  await expect(b.page.getByTestId('state')).toHaveText('connected');

  const want = [
    'carol: while dropped',
    'dave: from dropped',
    'carol: online 1',
    'carol: online 2',
    'carol: online 3',
    'dave: queued offline',
  ];
  const sorted = [...want].sort();
  // Both pages end with every line exactly once (the order of concurrent senders may differ
  // from `want`, but both pages see the server's one order).
  await expect.poll(async () => (await lines(a.page)).sort()).toEqual(sorted);
  await expect.poll(async () => (await lines(b.page)).sort()).toEqual(sorted);
  expect(await lines(a.page)).toEqual(await lines(b.page));
  await expect(b.page.getByTestId('gaps').locator('li')).toHaveCount(0);
  // The rejoin after a resume needs no join frame from the app: still one.
  expect(b.joins()).toBe(1);
});

test('unmounting a component leaves its room only when no other component holds it', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const room = roomFor('react-leave');
  const a = await openExample(browser, baseURL!, 'erin', room);
  contexts.push(a.context);
  expect(await membersOf(a.page, room)).toEqual(['erin']);

  // The chat goes; the members panel still holds the room.
  await a.page.getByTestId('toggle-chat').click();
  await expect(a.page.getByTestId('messages')).toHaveCount(0);
  // A round trip (the job's first progress comes from the room) is long after any deferred leave.
  await a.page.getByTestId('start-job').click();
  await expect(a.page.getByTestId('progress-text')).toContainText('/20');
  expect(a.leaves()).toBe(0);
  expect(await membersOf(a.page, room)).toEqual(['erin']);

  // The last holder goes: one leave, and the server no longer counts erin in the room.
  await a.page.getByTestId('toggle-members').click();
  await expect.poll(() => a.leaves()).toBe(1);
  await expect.poll(() => membersOf(a.page, room)).toEqual([]);

  // Holding it again joins again, once.
  await a.page.getByTestId('toggle-chat').click();
  await expect(a.page.getByTestId('room-status')).toHaveText('joined');
  expect(a.joins()).toBe(2);
  await expect.poll(() => membersOf(a.page, room)).toEqual(['erin']);
});

test('a component mounted after a gap shows the gap', async ({ browser, baseURL, contexts }) => {
  const room = roomFor('react-gap');
  const a = await openExample(browser, baseURL!, 'fred', room);
  const b = await openExample(browser, baseURL!, 'gina', room);
  contexts.push(a.context, b.context);
  await b.page.getByTestId('toggle-gaps').click();
  await expect(b.page.getByTestId('gaps')).toHaveCount(0);

  // Offline until the test says otherwise, so the whole job lands while gina is away.
  await b.page.getByTestId('offline-hold').click();
  await expect(b.page.getByTestId('state')).not.toHaveText('connected');
  // 30 progress messages while gina is away; the server keeps 20 per stream.
  await a.page.getByTestId('job-steps').fill('30');
  await a.page.getByTestId('start-job').click();
  await expect(a.page.getByTestId('progress-text')).toContainText('30/30');
  await b.page.getByTestId('online').click();
  await expect(b.page.getByTestId('state')).toHaveText('connected');

  await b.page.getByTestId('toggle-gaps').click();
  await expect(b.page.getByTestId('gaps').locator('li')).toHaveCount(1);
  await expect(b.page.getByTestId('gaps').locator('li')).toContainText(`retention`);
  await expect(b.page.getByTestId('gaps').locator('li')).toContainText(`#${room}`);
  // What was kept after the gap still arrived: the job's end.
  await expect(b.page.getByTestId('progress-text')).toContainText('30/30');
  await b.page.getByTestId('dismiss-gaps').click();
  await expect(b.page.getByTestId('gaps').locator('li')).toHaveCount(0);
});
