import { describe, expectTypeOf, it } from 'vitest';
import { z as classic } from 'zod';
import * as z from 'zod/mini';
import {
  type ClientMessageInputs,
  type ClientMessages,
  defineProtocol,
  type Requests,
  type Responses,
  type ServerMessageInputs,
  type ServerMessages,
} from '../src/index.js';

// The same app as define.test-d.ts, written with zod/mini: the same inferred types.
const app = defineProtocol({
  client: { say: z.object({ text: z.string(), at: z.optional(z.coerce.date()) }) },
  server: { said: z.object({ text: z.string(), n: z.number() }) },
  requests: { count: { request: z.object({ room: z.string() }), response: z.number() } },
});
type App = typeof app;

describe('inferred types (zod/mini schemas)', () => {
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

  it('tells input from output types, as with classic zod', () => {
    const withDefault = defineProtocol({
      server: {
        tick: z.object({ n: z._default(z.number(), 0), label: z.pipe(z.string(), z.transform(Number)) }),
      },
    });
    expectTypeOf<ServerMessages<typeof withDefault>['tick']>().toEqualTypeOf<{ n: number; label: number }>();
    expectTypeOf<ServerMessageInputs<typeof withDefault>['tick']>().toEqualTypeOf<{
      n?: number | undefined;
      label: string;
    }>();
  });

  it('accepts classic and mini schemas in one protocol', () => {
    const mixed = defineProtocol({
      client: { a: z.object({ x: z.string() }), b: classic.object({ y: classic.number() }) },
    });
    expectTypeOf<ClientMessages<typeof mixed>>().toEqualTypeOf<{ a: { x: string }; b: { y: number } }>();
  });

  it('rejects what is not a zod schema', () => {
    // @ts-expect-error: a plain object is not a schema
    defineProtocol({ client: { a: { parse: () => 1 } } });
  });
});
