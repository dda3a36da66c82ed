import { app, type ManualClock } from '@holdfast/testkit';
import { describe, expectTypeOf, it } from 'vitest';
import { type Clock, createServer } from '../src/index.js';

describe('server types from defineProtocol', () => {
  const server = createServer({ protocol: app });

  it('types handler data and request responses', () => {
    server.handle('say', (data, ctx) => {
      expectTypeOf(data).toEqualTypeOf<{ room: string; text: string }>();
      expectTypeOf(ctx.user).toEqualTypeOf<string>();
    });
    server.handle('add', (data) => {
      expectTypeOf(data).toEqualTypeOf<{ a: number; b: number }>();
      return data.a + data.b;
    });
    // @ts-expect-error: a request handler must return the response type
    server.handle('add', () => 'three');
    // @ts-expect-error: not a client message or request
    server.handle('said', () => undefined);
  });

  it('types growing messages: appendable types only, typed initial value and deltas', async () => {
    const w = await server.startMessage({ room: 'r' }, 'answer', '');
    expectTypeOf(w.value).toEqualTypeOf<string>();
    expectTypeOf(w.append).parameter(0).toEqualTypeOf<string>();
    const run = await server.startMessage({ session: 's' }, 'run', { steps: [] });
    expectTypeOf(run.value).toEqualTypeOf<{ steps: string[] }>();
    void run.append({ step: 'x' });
    // @ts-expect-error: a delta of 'run' is { step }
    void run.append('x');
    // @ts-expect-error: 'tick' is not appendable
    void server.startMessage({ room: 'r' }, 'tick', { n: 1 });
    // @ts-expect-error: wrong initial value
    void server.startMessage({ broadcast: true }, 'answer', 1);
  });

  it('types sends', () => {
    expectTypeOf(server.sendToRoom('r', 'said', { from: 'a', text: 'b' })).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error: wrong data for 'tick'
    void server.broadcast('tick', { n: 'one' });
    // @ts-expect-error: 'say' is a client message, not a server message
    void server.sendToUser('u', 'say', { room: 'r', text: 't' });
  });

  it("testkit's ManualClock is a server Clock", () => {
    expectTypeOf<ManualClock>().toExtend<Clock>();
  });
});
