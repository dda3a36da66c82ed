import {
  chatLines,
  expect,
  freePort,
  joinRoom,
  openUser,
  roomFor,
  say,
  startDemoProcess,
  test,
} from './fixtures.js';

const shot = async (
  page: import('@playwright/test').Page,
  name: string,
  info: import('@playwright/test').TestInfo,
) => {
  const path = info.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
};

test('1. two users chat in a room: each sees the other in order, own marks reach handled', async ({
  browser,
  baseURL,
  contexts,
}, info) => {
  const room = roomFor('chat');
  const a = await openUser(browser, 'alice', baseURL!);
  const b = await openUser(browser, 'bob', baseURL!);
  contexts.push(a.context, b.context);
  await joinRoom(a.page, room);
  await joinRoom(b.page, room);
  await expect(a.page.getByTestId('members').locator('li')).toHaveText(['alice', 'bob']);

  const expected: string[] = [];
  for (let i = 1; i <= 3; i++) {
    await say(a.page, `alice ${i}`);
    expected.push(`alice: alice ${i}`);
    await expect(b.page.getByTestId('messages').locator('li').last()).toContainText(`alice ${i}`);
    await say(b.page, `bob ${i}`);
    expected.push(`bob: bob ${i}`);
    await expect(a.page.getByTestId('messages').locator('li').last()).toContainText(`bob ${i}`);
  }
  await expect.poll(() => chatLines(a.page)).toEqual(expected);
  await expect.poll(() => chatLines(b.page)).toEqual(expected);
  for (const p of [a.page, b.page]) {
    const marks = p.getByTestId('messages').locator('.mark');
    await expect(marks).toHaveCount(3);
    for (const m of await marks.all()) await expect(m).toHaveAttribute('data-mark', 'handled');
  }
  await shot(a.page, 'chat-alice', info);
  expect(a.errors).toEqual([]);
  expect(b.errors).toEqual([]);
});

test('2. one goes offline while both keep sending: afterwards every message exactly once, in order, on both', async ({
  browser,
  baseURL,
  contexts,
}, info) => {
  const room = roomFor('offline');
  const a = await openUser(browser, 'carol', baseURL!);
  const b = await openUser(browser, 'dave', baseURL!);
  contexts.push(a.context, b.context);
  await joinRoom(a.page, room);
  await joinRoom(b.page, room);

  await b.context.setOffline(true);
  await expect(b.page.getByTestId('state')).not.toHaveText('connected');
  for (let i = 1; i <= 4; i++) {
    await say(a.page, `online ${i}`);
    await say(b.page, `offline ${i}`);
  }
  // dave's lines wait in the outbox, marked queued
  await expect(b.page.locator('[data-mark="queued"]')).toHaveCount(4);
  await shot(b.page, 'offline-queued', info);
  await b.context.setOffline(false);
  await expect(b.page.getByTestId('state')).toHaveText('connected');

  const wanted = [
    ...[1, 2, 3, 4].map((i) => `carol: online ${i}`),
    ...[1, 2, 3, 4].map((i) => `dave: offline ${i}`),
  ];
  for (const p of [a.page, b.page]) {
    await expect.poll(async () => (await chatLines(p)).length).toBe(8);
    const got = await chatLines(p);
    expect([...got].sort()).toEqual([...wanted].sort()); // each exactly once
    // per-sender order holds
    expect(got.filter((l) => l.startsWith('carol'))).toEqual(wanted.slice(0, 4));
    expect(got.filter((l) => l.startsWith('dave'))).toEqual(wanted.slice(4));
  }
  // both sides show the same room order
  expect(await chatLines(a.page)).toEqual(await chatLines(b.page));
  await expect(b.page.locator('[data-mark="handled"]')).toHaveCount(4);
});

test('3. the socket is dropped mid agent-run of 300 steps: all steps exactly once, in order, bar at 100%', async ({
  browser,
  baseURL,
  contexts,
}, info) => {
  const a = await openUser(browser, 'erin', baseURL!);
  contexts.push(a.context);
  const { page } = a;
  await page.getByTestId('steps-input').fill('300');
  await page.getByTestId('tokens-input').fill('20');
  await page.getByTestId('interval-input').fill('15');
  await page.getByTestId('start-run').click();
  await expect
    .poll(() => page.getByTestId('steps').locator('li').count(), { timeout: 20_000 })
    .toBeGreaterThanOrEqual(60);
  await page.getByTestId('drop').click();
  await expect(page.getByTestId('state')).not.toHaveText('connected');
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('run-status')).toContainText('— done', { timeout: 30_000 });
  const steps = await page.getByTestId('steps').locator('li').allTextContents();
  expect(steps.map((s) => Number(/^#(\d+)/.exec(s)?.[1]))).toEqual(
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  await expect(page.getByTestId('progress')).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByTestId('notices')).toContainText('resumed session');
  await shot(page, 'agent-done', info);
  expect(a.errors).toEqual([]);
});

test('4. a page reload mid-run resumes the same session and loses nothing queued', async ({
  browser,
  baseURL,
  contexts,
}) => {
  const room = roomFor('reload');
  const a = await openUser(browser, 'frank', baseURL!);
  contexts.push(a.context);
  const { page } = a;
  await joinRoom(page, room);
  const session = await page.getByTestId('session').textContent();
  await page.getByTestId('steps-input').fill('300');
  await page.getByTestId('tokens-input').fill('20');
  await page.getByTestId('interval-input').fill('15');
  await page.getByTestId('start-run').click();
  await expect
    .poll(() => page.getByTestId('steps').locator('li').count(), { timeout: 20_000 })
    .toBeGreaterThanOrEqual(40);
  await page.getByTestId('offline').click();
  await say(page, 'queued one');
  await say(page, 'queued two');
  await expect(page.locator('[data-mark="queued"]')).toHaveCount(2);
  await page.reload();
  await expect(page.getByTestId('state')).toHaveText('connected');
  await expect(page.getByTestId('session')).toHaveText(session!);
  await page.locator(`[data-room="${room}"]`).click();
  await expect.poll(() => chatLines(page)).toEqual(['frank: queued one', 'frank: queued two']);
  await expect(page.getByTestId('run-status')).toContainText('— done', { timeout: 30_000 });
  const steps = await page.getByTestId('steps').locator('li').allTextContents();
  expect(steps.map((s) => Number(/^#(\d+)/.exec(s)?.[1]))).toEqual(
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
});

test('5. the demo server restarts: the client reconnects, reports the gap, keeps its lines, nothing twice', async ({
  browser,
  contexts,
}, info) => {
  const port = await freePort();
  let server = await startDemoProcess(port);
  try {
    const base = `http://localhost:${port}`;
    const room = roomFor('restart');
    const a = await openUser(browser, 'gina', base);
    contexts.push(a.context);
    const { page } = a;
    await joinRoom(page, room);
    await say(page, 'before restart');
    await expect(page.locator('[data-mark="handled"]')).toHaveCount(1);
    const before = await page.getByTestId('session').textContent();

    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await expect(page.getByTestId('state')).not.toHaveText('connected');
    server = await startDemoProcess(port);

    await expect(page.getByTestId('state')).toHaveText('connected', { timeout: 30_000 });
    await expect(page.getByTestId('session')).not.toHaveText(before!);
    await expect(page.getByTestId('notices')).toContainText('resume expired');
    await expect(page.getByTestId('notices').locator('[data-kind="gap"]').first()).toContainText('expired');
    // rooms are re-joined on the new session; chat goes on, nothing shown twice
    await expect(page.locator(`[data-room="${room}"]`)).toBeVisible();
    await page.locator(`[data-room="${room}"]`).click();
    await say(page, 'after restart');
    await expect.poll(() => chatLines(page)).toEqual(['gina: before restart', 'gina: after restart']);
    await shot(page, 'after-restart', info);
  } finally {
    server.kill('SIGKILL');
  }
});

test('6. a bad or expired token: failed with the reason shown, and no reconnect storm', async ({
  browser,
  baseURL,
  contexts,
}, info) => {
  const context = await browser.newContext({ baseURL });
  contexts.push(context);
  const page = await context.newPage();
  let logins = 0;
  await page.route('**/api/login', async (route) => {
    logins += 1;
    if (logins === 1) return route.continue(); // the sign-in form checks the name
    const res = await route.fetch();
    const body = await res.json();
    // An expired token: flip the payload's exp to the past (the signature no longer matches either).
    const [h, p, s] = String(body.token).split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.exp = 1;
    await route.fulfill({
      json: { ...body, token: `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}` },
    });
  });
  await page.clock.install();
  await page.goto('/');
  await page.getByTestId('name').fill('henry');
  await page.getByTestId('signin').click();
  await expect(page.getByTestId('state')).toHaveText(/failed: Unauthorized/);
  await expect(page.getByTestId('state')).toHaveAttribute('title', 'close code 4401');
  await expect(page.getByTestId('attempts')).toHaveText('1');
  // Ten minutes later (fake time), still one attempt: a terminal code stops retries.
  await page.clock.runFor(600_000);
  await expect(page.getByTestId('attempts')).toHaveText('1');
  expect(logins).toBe(2);
  await shot(page, 'failed-unauthorized', info);
});

test('7. one user past the connection limit gets a clear refusal', async ({
  browser,
  baseURL,
  contexts,
}, info) => {
  // Six tabs of one browser (the name is bound to it): five sessions fit, the sixth is refused.
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const pages = [];
  for (let i = 0; i < 5; i++) pages.push((await openUser(browser, 'ivy', baseURL!, undefined, context)).page);
  const page = await context.newPage();
  await page.goto('/');
  await page.getByTestId('name').fill('ivy');
  await page.getByTestId('signin').click();
  await expect(page.getByTestId('state')).toHaveText(/failed: Too many connections/);
  await expect(page.getByTestId('state')).toHaveAttribute('title', 'close code 4409');
  await expect(page.getByTestId('notices').locator('[data-kind="failed"]')).toHaveAttribute(
    'title',
    'close code 4409',
  );
  await shot(page, 'too-many-connections', info);
  // The five others are unaffected.
  for (const p of pages) await expect(p.getByTestId('state')).toHaveText('connected');
});
