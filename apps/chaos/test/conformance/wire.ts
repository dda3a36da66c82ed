import { decode } from '@holdfast/protocol';
import { ManualClock, RawClient } from '@holdfast/testkit';
import { suiteServer, until } from './harness.js';
import type { WireScenario } from './scenario.js';

/** How long an expected frame may take (a bound on a hang, not a synchronisation). */
const EXPECT_MS = 3000;

/** Resolves with `message` after {@link EXPECT_MS}. */
function deadline(message: string): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve(message), EXPECT_MS).unref());
}

/** `expected` is a subset of `frame` (objects compared key by key). */
function matches(frame: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return frame === expected;
  if (typeof frame !== 'object' || frame === null) return false;
  return Object.entries(expected).every(([k, v]) => matches((frame as Record<string, unknown>)[k], v));
}

/** Run a wire scenario against a real server on real sockets; returns the problems found. */
export async function runWire(s: WireScenario): Promise<string[]> {
  const clock = new ManualClock(Date.now());
  const { tokenTtlMs, ...options } = (s.server ?? {}) as { tokenTtlMs?: number } & Record<string, unknown>;
  const { server, engine, port } = await suiteServer(clock, {
    options: {
      ...options,
      ...(tokenTtlMs
        ? {
            authenticate: ({ token }: { token?: string }) =>
              token ? { user: token, expiresAt: clock.now() + tokenTtlMs } : null,
          }
        : {}),
    },
  });
  const url = `ws://127.0.0.1:${port}/ws`;
  const conns: RawClient[] = [];
  const welcomes: Record<string, any>[] = [];
  const problems: string[] = [];
  try {
    for (const step of s.steps) {
      const i = 'conn' in step && step.conn !== undefined ? step.conn : 0;
      if ('open' in step) {
        conns[i] = await RawClient.open(url, {
          autoPong: s.autoPong ?? true,
          ...(step.open.origin ? { headers: { origin: step.open.origin } } : {}),
        });
      } else if ('hello' in step) {
        welcomes[i] = await conns[i]!.hello(step.hello);
      } else if ('resumeOf' in step) {
        const w = welcomes[step.resumeOf]!;
        const cursors = Array.from({ length: step.cursors ?? 0 }, (_, n) => ({
          stream: `room:${'r'.repeat(100)}${n}`,
          epoch: 'e'.repeat(32),
          offset: 2 ** 40 + n,
        }));
        conns[i]!.send({
          t: 'hello',
          version: 1,
          token: w.user,
          resume: { sessionId: w.sessionId, resumeToken: step.resumeToken ?? w.resumeToken, cursors },
        });
      } else if ('terminate' in step) {
        await conns[i]!.terminate();
        await until(
          () => server.countConnections() === conns.filter((c) => c && !c.closed).length,
          'the server to see the cut',
        );
      } else if ('closeWith' in step) {
        await new Promise<void>((resolve) => {
          conns[i]!.ws.once('close', () => resolve());
          conns[i]!.ws.close(step.closeWith);
        });
        await until(
          () => server.countConnections() === conns.filter((c) => c && !c.closed).length,
          'the close',
        );
      } else if ('expectValid' in step) {
        const c = conns[i]!;
        const found = await Promise.race([
          c.next((f) => f.t === step.expectValid),
          c.closedPromise().then((cl) => `closed ${cl.code} before a ${step.expectValid} frame`),
          deadline(`no ${step.expectValid} frame within ${EXPECT_MS} ms`),
        ]);
        if (typeof found === 'string') problems.push(found);
        else {
          const text = JSON.stringify(found);
          const d = decode(text, 'server', { maxBytes: 2 ** 24 });
          if (!d.ok)
            problems.push(
              `${step.expectValid} frame fails the protocol's schema: ${d.error.code} ${d.error.message}`,
            );
          if (Buffer.byteLength(text) > step.maxPayload)
            problems.push(
              `${step.expectValid} frame is ${Buffer.byteLength(text)} bytes, above maxPayload ${step.maxPayload}`,
            );
        }
      } else if ('send' in step) {
        conns[i]!.send(step.send);
      } else if ('sendRaw' in step) {
        if (step.invalidUtf8) conns[i]!.ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
        else
          conns[i]!.ws.send(step.binary ? Buffer.from(step.sendRaw) : step.sendRaw, {
            binary: step.binary ?? false,
          });
      } else if ('count' in step) {
        const c = conns[i]!;
        const n = () => c.frames.filter((f) => matches(f, step.count)).length;
        if (step.n > 0)
          await Promise.race([
            c.collect((f) => matches(f, step.count), step.n),
            c.closedPromise(),
            deadline(''),
          ]);
        if (n() !== step.n)
          problems.push(`${n()} frames like ${JSON.stringify(step.count)}, expected ${step.n}`);
      } else if ('expect' in step) {
        const c = conns[i]!;
        // A frame matching every expected field must arrive; else report what came of that type.
        const seenOfType = () =>
          c.frames
            .filter((f) => f.t === step.expect.t)
            .map((f) => JSON.stringify(f).slice(0, 300))
            .join(' | ');
        const outcome = await Promise.race([
          c.next((f) => matches(f, step.expect)).then(() => ''),
          c.closedPromise().then((cl) => `closed ${cl.code} before ${JSON.stringify(step.expect)}`),
          deadline(`no ${JSON.stringify(step.expect)} within ${EXPECT_MS} ms`),
        ]);
        if (outcome) problems.push(`${outcome}; got: ${seenOfType() || 'none'}`);
      } else if ('advance' in step) {
        // Let the server see what was sent before moving its clock.
        await until(() => server.countConnections() >= 0, 'nothing');
        clock.advance(step.advance);
      } else if (step.server === 'close') {
        void server.close();
      } else if (step.server === 'endSession') {
        await server.disconnect(welcomes[0]!.sessionId);
      } else {
        engine.failReads = true;
      }
    }
    if (s.close) {
      const c = conns[s.close.conn ?? 0]!;
      const got = await Promise.race([c.closedPromise(), deadline('').then(() => undefined)]);
      if (!got) problems.push(`no close, expected ${s.close.code}`);
      else if (got.code !== s.close.code)
        problems.push(`closed ${got.code} (${got.reason}), expected ${s.close.code}`);
    }
    if (s.open && conns[0]!.closed) problems.push(`closed ${conns[0]!.closed.code}, expected open`);
  } finally {
    for (const c of conns) if (c && !c.closed) await c.terminate();
  }
  return problems;
}
