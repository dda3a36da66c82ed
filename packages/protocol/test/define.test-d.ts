import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type ClientMessageInputs,
  type ClientMessages,
  defineProtocol,
  type Requests,
  type Responses,
  type ServerMessages,
} from '../src/index.js';

const app = defineProtocol({
  client: { say: z.object({ text: z.string(), at: z.coerce.date().optional() }) },
  server: { said: z.object({ text: z.string(), n: z.number() }) },
  requests: { count: { request: z.object({ room: z.string() }), response: z.number() } },
});
type App = typeof app;

describe('inferred types', () => {
  it('infers message maps', () => {
    expectTypeOf<ClientMessages<App>>().toEqualTypeOf<{ say: { text: string; at?: Date | undefined } }>();
    expectTypeOf<ClientMessageInputs<App>['say']['text']>().toEqualTypeOf<string>();
    expectTypeOf<ServerMessages<App>>().toEqualTypeOf<{ said: { text: string; n: number } }>();
    expectTypeOf<Requests<App>>().toEqualTypeOf<{ count: { room: string } }>();
    expectTypeOf<Responses<App>>().toEqualTypeOf<{ count: number }>();
  });

  it('has no keys that were not declared', () => {
    expectTypeOf<keyof ServerMessages<App>>().toEqualTypeOf<'said'>();
    // @ts-expect-error: 'nope' is not a declared client message
    expectTypeOf<ClientMessages<App>['nope']>().toBeNever();
  });
});
