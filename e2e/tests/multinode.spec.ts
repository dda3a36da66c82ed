import type { ChildProcess } from 'node:child_process';
import {
  chatLines,
  expect,
  freePort,
  joinRoom,
  openUser,
  roomFor,
  say,
  startBalancer,
  startDemoProcess,
  startRedis,
  test,
} from './fixtures.js';

test('multi-node: the browser on node A, node A killed, the page keeps working through node B, nothing lost', async ({
  browser,
  contexts,
}, info) => {
  const redis = await startRedis();
  const [p0, p1, p2] = [await freePort(), await freePort(), await freePort()];
  const env = { REDIS_URL: redis.url, REDIS_PREFIX: `e2e-${Date.now()}:` };
  const nodes = new Map<number, ChildProcess>([
    [p1, await startDemoProcess(p1, { ...env, NODE_NAME: 'node-a' })],
    [p2, await startDemoProcess(p2, { ...env, NODE_NAME: 'node-b' })],
  ]);
  const balancer = await startBalancer(p0, [p1, p2]);
  const connectionsOn = async (port: number) =>
    (await (await fetch(`http://localhost:${port}/api/stats`)).json()).connections;
  try {
    const base = `http://localhost:${p0}`;
    const room = roomFor('failover');
    const a = await openUser(browser, 'kim', base);
    contexts.push(a.context);
    await joinRoom(a.page, room);
    // Which node holds kim's WebSocket?
    const kimsPort = (await connectionsOn(p1)) === 1 ? p1 : p2;
    const b = await openUser(browser, 'lee', base);
    contexts.push(b.context);
    await joinRoom(b.page, room);
    await say(a.page, 'kim before');
    await say(b.page, 'lee before');
    await expect.poll(() => chatLines(a.page)).toEqual(['kim: kim before', 'lee: lee before']);
    const session = await a.page.getByTestId('session').textContent();

    nodes.get(kimsPort)!.kill('SIGKILL');
    await expect(a.page.getByTestId('state')).not.toHaveText('connected');
    await say(a.page, 'kim during'); // queued while kim's client reconnects
    await say(b.page, 'lee during'); // lee may also have been on the dead node: then it is queued too

    await expect(a.page.getByTestId('state')).toHaveText('connected', { timeout: 30_000 });
    await expect(b.page.getByTestId('state')).toHaveText('connected', { timeout: 30_000 });
    // The same session, resumed on the surviving node.
    await expect(a.page.getByTestId('session')).toHaveText(session!);
    await expect(a.page.getByTestId('notices')).toContainText('resumed session');
    await say(a.page, 'kim after');
    const all = [
      'kim: kim before',
      'lee: lee before',
      'kim: kim during',
      'lee: lee during',
      'kim: kim after',
    ];
    for (const p of [a.page, b.page]) {
      await expect.poll(async () => (await chatLines(p)).length, { timeout: 20_000 }).toBe(5);
      const got = await chatLines(p);
      expect([...got].sort()).toEqual([...all].sort()); // each exactly once
      expect(got.filter((l) => l.startsWith('kim'))).toEqual([
        'kim: kim before',
        'kim: kim during',
        'kim: kim after',
      ]);
    }
    await expect(a.page.locator('[data-mark="handled"]')).toHaveCount(3);
    const survivor = kimsPort === p1 ? p2 : p1;
    expect(await connectionsOn(survivor)).toBe(2);
    const path = info.outputPath('failover.png');
    await a.page.screenshot({ path });
    await info.attach('failover', { path, contentType: 'image/png' });
  } finally {
    balancer.kill('SIGKILL');
    for (const n of nodes.values()) n.kill('SIGKILL');
    redis.stop();
  }
});
