import { type AnyFrame, RawClient } from '@holdfast/testkit';
import { expect } from 'vitest';
import type { WebSocket } from 'ws';

/**
 * Wait for the outcome of a hostile frame on `c`: the error frame and the close. A connection
 * still open after `withinMs` fails the test with what it received (a bound, not a sleep).
 */
export async function outcome(
  c: RawClient,
  from: number,
  withinMs = 10_000,
): Promise<{ error?: string; close?: number }> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    c.closedPromise(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`still open after ${withinMs} ms; got ${JSON.stringify(c.frames.slice(from))}`)),
        withinMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const error = c.frames.slice(from).find((f) => f.t === 'error')?.error?.code as string | undefined;
  return { ...(error ? { error } : {}), close: closed.code };
}

/** A connection that said hello (or not), ready for a hostile frame. */
export async function opened(
  url: string,
  hello: boolean,
  extra: Record<string, unknown> = {},
): Promise<RawClient> {
  const c = await RawClient.open(url);
  if (hello) await c.hello(extra);
  return c;
}

/**
 * A well-behaved connection kept open through a property: after each batch it must still
 * round-trip a ping and a request. It keeps under the default frame rate (100/s) like any
 * well-behaved client, and fails at once, with its close code, if the server drops it.
 */
export class Canary {
  private n = 0;
  private lastAt = 0;
  private constructor(readonly c: RawClient) {}

  static async open(
    url: string,
    options: ConstructorParameters<typeof RawClient>[1] = {},
    hello: Record<string, unknown> = {},
  ): Promise<Canary> {
    const c = await RawClient.open(url, options);
    await c.hello(hello);
    return new Canary(c);
  }

  /** A ping and an `echo` request, each answered. */
  async check(): Promise<void> {
    // Pacing, not synchronisation: two frames per check, at most 40 checks per second.
    const wait = this.lastAt + 25 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastAt = Date.now();
    const n = ++this.n;
    expect(this.c.closed).toBeUndefined();
    this.c.send({ t: 'ping', ts: n });
    await this.answer((f) => f.t === 'pong' && f.ts === n);
    this.c.send({ t: 'pub', id: `canary-${n}`, type: 'echo', data: { n } });
    const res = await this.answer((f) => f.t === 'res' && f.id === `canary-${n}`);
    expect(res).toMatchObject({ ok: true, result: n });
  }

  private answer(pred: (f: AnyFrame) => boolean): Promise<AnyFrame> {
    return Promise.race([
      this.c.next(pred),
      this.c.closedPromise().then((c) => {
        throw new Error(`the canary was disconnected: ${c.code} ${c.reason}`);
      }),
    ]);
  }

  get checks(): number {
    return this.n;
  }
}

/**
 * Write one raw WebSocket frame from a client (masked, as RFC 6455 requires) on a `ws` socket,
 * bypassing `ws`'s own validation: for invalid close codes, bad reasons and the like.
 */
export function writeRawFrame(ws: WebSocket, opcode: number, payload: Buffer, fin = true): void {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
      : len < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff])
        : (() => {
            const b = Buffer.alloc(10);
            b[0] = (fin ? 0x80 : 0) | opcode;
            b[1] = 0x80 | 127;
            b.writeBigUInt64BE(BigInt(len), 2);
            return b;
          })();
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.concat([head, mask, body]));
}

/** Whether `bytes` is valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Keys that must never reach an app object, in the spellings an attacker would try. */
export const FORBIDDEN_SPELLINGS = [
  '"__proto__"',
  '"\\u005f\\u005fproto\\u005f\\u005f"',
  '"\\u005f_proto__"',
  '"constructor"',
  '"\\u0063onstructor"',
  '"constructo\\u0072"',
] as const;
