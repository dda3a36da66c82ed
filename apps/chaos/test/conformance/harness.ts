import { createServer, type HoldfastServer, MemoryEngine, type MessageWriter } from '@holdfast/server';
import { checkStream, FaultProxy, ManualClock, type Published } from '@holdfast/testkit';
import { type App, app } from '../support/app.js';
import { defer } from '../support/fixture.js';
import type { StreamScenario, Target } from './scenario.js';
import { officialSubject, type Subject, specSubject } from './subjects.js';

/** An in-memory engine that records what it really stored, and can fail reads on demand. */
export class LedgerEngine extends MemoryEngine {
  readonly published: Published[] = [];
  failReads = false;

  override async append(
    stream: string,
    body: string,
    except?: Parameters<MemoryEngine['append']>[2],
    options?: Parameters<MemoryEngine['append']>[3],
  ): Promise<{ epoch: string; offset: number }> {
    const r = await super.append(stream, body, except, options);
    // The ledger checks plain messages; growing ones are checked by their folded values.
    if (!options?.open) this.published.push({ stream, ...r });
    return r;
  }

  override async read(stream: string, after: number, limit: number): ReturnType<MemoryEngine['read']> {
    if (this.failReads) throw new Error('store unavailable (test)');
    return super.read(stream, after, limit);
  }
}

export const RESUME_WINDOW_MS = 60_000;

/** A server of the suite: real sockets, an injected clock, a recording engine. */
export async function suiteServer(
  clock: ManualClock,
  settings: {
    retentionMessages?: number;
    retentionAgeMs?: number;
    sweepIntervalMs?: number;
    slowJoin?: boolean;
    options?: Record<string, unknown>;
  } = {},
): Promise<{
  server: HoldfastServer<App>;
  engine: LedgerEngine;
  port: number;
  handled: Map<number, number>;
  gate: Gate;
}> {
  const retention = {
    maxMessages: settings.retentionMessages ?? 100_000,
    maxBytes: 2 ** 30,
    maxAgeMs: settings.retentionAgeMs ?? 3_600_000,
  };
  const engine = new LedgerEngine({ clock, retention });
  const handled = new Map<number, number>();
  const gate = new Gate();
  const server = createServer<App>({
    protocol: app,
    port: 0,
    clock,
    engine,
    resumeWindowMs: RESUME_WINDOW_MS,
    ...(settings.sweepIntervalMs ? { sweepIntervalMs: settings.sweepIntervalMs } : {}),
    authenticate: ({ token }) => (token ? { user: token } : null),
    authorizeJoin: settings.slowJoin
      ? () => new Promise<boolean>((r) => setImmediate(() => r(true)))
      : () => true,
    limits: { messagesPerSecond: 100_000, burst: 100_000 },
    ...(settings.options ?? {}),
  });
  server.on('error', () => {});
  server.handle('note', async (data) => {
    handled.set(data.k, (handled.get(data.k) ?? 0) + 1);
    await gate.pass();
  });
  await server.ready();
  defer(() => server.close());
  return { server, engine, port: server.address().port, handled, gate };
}

/** Holds handlers while closed; counts who is waiting. */
export class Gate {
  private held = false;
  private waiting: (() => void)[] = [];
  started = 0;
  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }
  pass(): Promise<void> {
    this.started += 1;
    if (!this.held) return Promise.resolve();
    return new Promise((r) => this.waiting.push(r));
  }
}

/** Poll `cond` until true, or throw after `ms` (a deadline, not a sleep). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The outcome of a stream scenario: an empty `problems` list means it passed. */
export interface Outcome {
  problems: string[];
  verdicts: Record<string, { delivered: number; announcedLost: number; tailLost: number }>;
}

/** Run a stream scenario with one client kind against a real server behind a fault proxy. */
export async function runStream(s: StreamScenario, kind: 'spec' | 'official'): Promise<Outcome> {
  const clock = new ManualClock(Date.now());
  let srv = await suiteServer(clock, s.server ?? {});
  const engines = [srv.engine];
  const proxy = await FaultProxy.start({ port: srv.port });
  defer(() => proxy.close());
  let user = 'alice';
  const url = `ws://127.0.0.1:${proxy.port}/ws`;
  const client: Subject = kind === 'spec' ? specSubject(url, user) : officialSubject(url, user);
  defer(() => client.close());
  const handledTotal = new Map<number, number>();
  const pubs: Promise<{ ok: boolean; local?: boolean }>[] = [];
  const membership: Promise<unknown>[] = [];
  let pubSeq = 0;
  const problems: string[] = [];
  const sessionId = () => client.welcomes.at(-1)?.sessionId ?? '';
  const streamOf = (t: Target): string =>
    t === 'broadcast'
      ? 'broadcast'
      : t === 'user'
        ? `user:${client.welcomes.at(-1)?.user ?? user}`
        : t === 'session'
          ? `session:${sessionId()}`
          : `room:${t.room}`;
  const publish = async (t: Target, count: number) => {
    for (let n = 0; n < count; n++) {
      const data = { s: streamOf(t), n };
      if (t === 'broadcast') await srv.server.broadcast('tick', data);
      else if (t === 'user') await srv.server.sendToUser(client.welcomes.at(-1)?.user ?? user, 'tick', data);
      else if (t === 'session') await srv.server.sendToSession(sessionId(), 'tick', data);
      else await srv.server.sendToRoom(t.room, 'tick', data);
    }
  };
  const writers = new Map<string, MessageWriter<string, string>>();
  const answers = new Map<string, { start: number; epoch: string; value: string }[]>();
  let token = 0;
  const target = (t: Target): import('@holdfast/server').MessageTarget =>
    t === 'broadcast'
      ? { broadcast: true }
      : t === 'user'
        ? { user: client.welcomes.at(-1)?.user ?? user }
        : t === 'session'
          ? { session: sessionId() }
          : { room: t.room };
  const lastOf = (name: string) => srv.engine.published.filter((p) => p.stream === name).at(-1);
  const offlineNow = async () => {
    proxy.cut('rst');
    await until(() => srv.server.countConnections() === 0, 'the server to see the cut');
  };

  for (const step of s.steps) {
    switch (step.op) {
      case 'connect':
        await client.connect();
        break;
      case 'offline':
        proxy.refuse(true);
        await offlineNow();
        break;
      case 'online':
        proxy.refuse(false);
        break;
      case 'cut': {
        const more = step.afterDeliveries ?? 0;
        if (more > 0) {
          await new Promise<void>((resolve) =>
            client.afterDeliveries(more, () => {
              proxy.cut('rst');
              resolve();
            }),
          );
        }
        await offlineNow();
        // The cut must land before the client holds everything (else it tested nothing).
        if (s.check.every((t) => client.position(streamOf(t))?.offset === lastOf(streamOf(t))?.offset))
          problems.push('the cut landed after the client held everything');
        break;
      }
      case 'slice':
        proxy.slice(step.bytes);
        break;
      case 'publish':
        await publish(step.to, step.count);
        break;
      case 'restart': {
        proxy.refuse(true);
        await srv.server.close();
        await until(() => proxy.connections === 0, 'connections to close');
        for (const [k, v] of srv.handled) handledTotal.set(k, (handledTotal.get(k) ?? 0) + v);
        srv = await suiteServer(clock, s.server ?? {});
        engines.push(srv.engine);
        proxy.retarget(srv.port);
        break;
      }
      case 'advance':
        clock.advance(step.ms);
        break;
      case 'expire': {
        const old = sessionId();
        clock.advance(RESUME_WINDOW_MS + 5_000);
        await until(async () => (await srv.engine.getSession(old)) === undefined, 'the session to expire');
        break;
      }
      case 'forget':
        srv.engine.forget(streamOf(step.to));
        break;
      case 'token':
        user = step.user;
        client.setUser(step.user);
        break;
      case 'start': {
        const w = await srv.server.startMessage(target(step.to), 'answer', '');
        writers.set(w.stream, w);
        break;
      }
      case 'grow': {
        const w = writers.get(streamOf(step.to))!;
        const all: Promise<unknown>[] = [];
        for (let i = 0; i < step.count; i++) all.push(w.append(`t${token++} `));
        await Promise.all(all);
        break;
      }
      case 'end': {
        const name = streamOf(step.to);
        const w = writers.get(name)!;
        await w.end();
        writers.delete(name);
        const list = answers.get(name) ?? [];
        list.push({ start: w.start, epoch: w.epoch, value: w.value });
        answers.set(name, list);
        break;
      }
      case 'reload':
        client.reload();
        break;
      case 'join': {
        const p = step.rewind ? client.joinRewind(step.room, step.rewind) : client.join(step.room);
        membership.push(p.catch(() => {}));
        if (step.wait !== false) await p;
        break;
      }
      case 'leave': {
        const p = client.leave(step.room);
        membership.push(p.catch(() => {}));
        if (step.wait !== false) await p;
        break;
      }
      case 'answered':
        await Promise.all(membership);
        break;
      case 'pubs':
        for (let i = 0; i < step.count; i++) pubs.push(client.pub(pubSeq++));
        break;
      case 'hold':
        srv.gate.hold();
        break;
      case 'started': {
        const g = srv.gate;
        await until(() => g.started >= step.count, 'handlers to start');
        break;
      }
      case 'resent': {
        const x = srv.server;
        await until(() => x.stats().counters.duplicates >= step.count, 'the resent pubs to reach the server');
        break;
      }
      case 'release':
        srv.gate.release();
        break;
      case 'forge': {
        const spec = client.spec;
        if (!spec) throw new Error('forge: spec client only');
        const name = streamOf(step.to);
        const held = spec.cursors.get(name);
        spec.cursors.set(name, {
          stream: name,
          epoch: step.epoch ?? held?.epoch ?? 'unknown',
          offset: step.offset ?? held?.offset ?? 0,
        });
        break;
      }
      case 'close':
        if (client.spec) await client.spec.close(step.code);
        else if (step.code === 4000) await client.endSession();
        else throw new Error(`close ${step.code}: spec client only`);
        await until(() => srv.server.countConnections() === 0, 'the server to see the close');
        break;
      case 'settle':
        await until(
          () =>
            s.check.every((t) => {
              const name = streamOf(t);
              const last = srv.engine.published.filter((p) => p.stream === name).at(-1);
              if (!last) return true;
              const pos = client.position(name);
              return pos !== undefined && pos.epoch === last.epoch && pos.offset >= last.offset;
            }),
          'the client to hold every published message',
        ).catch((e: Error) => problems.push(e.message));
        break;
    }
  }

  // Verdicts.
  await Promise.all(membership);
  const all = engines.flatMap((e) => e.published);
  const verdicts: Outcome['verdicts'] = {};
  for (const t of s.check) {
    const name = streamOf(t);
    const v = checkStream(name, all, client.events(name));
    verdicts[typeof t === 'string' ? t : `room:${t.room}`] = v;
    for (const p of v.problems) problems.push(`${name}: ${p}`);
  }
  const x = s.expect ?? {};
  const label = (t: Target) => (typeof t === 'string' ? t : `room:${t.room}`);
  for (const w of x.welcomes ?? []) {
    const got = client.welcomes[w.index];
    if (!got) {
      problems.push(`welcome #${w.index} missing`);
      continue;
    }
    if (w.resumed !== undefined && got.resumed !== w.resumed)
      problems.push(`welcome #${w.index}: resumed ${got.resumed}`);
    if (w.resumeError !== got.resumeError)
      problems.push(`welcome #${w.index}: resumeError ${got.resumeError}`);
    if (w.count !== undefined && got.streams.length !== w.count)
      problems.push(
        `welcome #${w.index}: ${got.streams.length} entries, expected ${w.count}: ${JSON.stringify(got.streams)}`,
      );
    for (const e of w.streams ?? []) {
      const name = streamOf(e.to);
      const entries = got.streams.filter((st: { stream: string }) => st.stream === name);
      if (entries.length !== 1) {
        problems.push(
          `welcome #${w.index}: ${name} listed ${entries.length} times: ${JSON.stringify(entries)}`,
        );
        continue;
      }
      const en = entries[0];
      if (en.status !== e.status || (e.reason !== undefined && en.reason !== e.reason))
        problems.push(
          `welcome #${w.index}: ${name} is ${en.status}/${en.reason}, expected ${e.status}/${e.reason}`,
        );
    }
  }
  for (const d of x.delivered ?? []) {
    const got = verdicts[label(d.to)]?.delivered;
    if (got !== d.count) problems.push(`${label(d.to)}: delivered ${got}, expected ${d.count}`);
  }
  for (const d of x.lost ?? []) {
    const got = verdicts[label(d.to)]?.announcedLost;
    if (got !== d.count) problems.push(`${label(d.to)}: announced lost ${got}, expected ${d.count}`);
  }
  if (x.pubsHandledOnce || x.failedLocally !== undefined || x.handled !== undefined) {
    const results = await Promise.all(pubs);
    for (const [k, v] of srv.handled) handledTotal.set(k, (handledTotal.get(k) ?? 0) + v);
    const local = results.filter((r) => r.local).length;
    if (x.failedLocally !== undefined && local !== x.failedLocally)
      problems.push(`${local} pubs failed locally, expected ${x.failedLocally}`);
    const runs = [...handledTotal.values()].reduce((a, b) => a + b, 0);
    if (x.handled !== undefined && runs !== x.handled)
      problems.push(`${runs} handler runs, expected ${x.handled}`);
    if (x.pubsHandledOnce) {
      if (results.some((r) => !r.ok)) problems.push('a pub was not answered ok');
      for (let k = 0; k < pubSeq; k++)
        if (handledTotal.get(k) !== 1) problems.push(`pub ${k} handled ${handledTotal.get(k) ?? 0} times`);
    }
  }
  if (x.oneResPerId && client.spec) {
    for (const [id, n] of client.spec.resCount) if (n > 1) problems.push(`res ${id} received ${n} times`);
  }
  if (x.noDuplicatesOnWire && client.spec && client.spec.dropped > 0)
    problems.push(`the server sent ${client.spec.dropped} msg frames the client already held`);
  for (const g of x.grown ?? []) {
    const name = streamOf(g.to);
    const written = answers.get(name) ?? [];
    if (written.length !== g.answers)
      problems.push(`${name}: ${written.length} answers written, expected ${g.answers}`);
    await until(
      () => written.every((a) => client.growth(name).some((e) => e.start === a.start && e.done)),
      `${name}: the client to hold every answer done`,
    ).catch((e: Error) => problems.push(e.message));
    for (const a of written) {
      const seen = client.growth(name).filter((e) => e.start === a.start);
      let previous = '';
      for (const e of seen) {
        const v = String(e.value);
        // Exactly once, in order: every value is a prefix of the final text, never shorter than before.
        if (!a.value.startsWith(v) || v.length < previous.length) {
          problems.push(
            `${name}#${a.start}: went through a value that is not the text so far (${v.length} chars)`,
          );
          break;
        }
        previous = v;
      }
      if (previous !== a.value)
        problems.push(`${name}#${a.start}: holds ${previous.length} chars, expected ${a.value.length}`);
    }
    if (client.spec && client.spec.orphanApps.length > 0)
      problems.push(
        `${name}: ${client.spec.orphanApps.length} app frames of messages the client never got the start of`,
      );
  }
  for (const index of x.freed ?? []) {
    const id = client.welcomes[index]?.sessionId;
    if (id === undefined) problems.push(`freed: welcome #${index} missing`);
    else if (await srv.engine.getSession(id)) problems.push(`session of welcome #${index} still exists`);
  }
  if (x.rooms) {
    const sessions = await srv.engine.getSession(sessionId());
    const rooms = [...(sessions?.rooms ?? [])].sort();
    if (JSON.stringify(rooms) !== JSON.stringify([...x.rooms].sort()))
      problems.push(`session rooms ${JSON.stringify(rooms)}, expected ${JSON.stringify(x.rooms)}`);
  }
  return { problems, verdicts };
}
