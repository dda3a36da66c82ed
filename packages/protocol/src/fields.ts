import * as z from 'zod/mini';
import { noControl, noLoneSurrogate, visibleAscii, WireLimits } from './wire.js';

// The field schemas, shared by the schemas of both directions (frames.ts, server-frames.ts),
// built from the rules of wire.ts. Not part of the package's API.

// Built with `zod/mini`: its functions tree-shake, so an app whose own schemas use `zod/mini`
// ships no classic zod at all. Each check below is the one the classic method of the same name
// adds (`.min()` on strings and arrays is `z.minLength()`, on numbers `z.minimum()`...), in the
// same order, so issues and messages are exactly those of the classic schemas.
export const ascii = (max: number) =>
  z.string().check(z.minLength(1), z.maxLength(max), z.regex(visibleAscii));
export const printable = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      z.regex(noControl),
      z.refine(noLoneSurrogate, { message: 'Invalid string: lone surrogate' }),
    );
export const id = ascii(WireLimits.idLength);
export const appType = ascii(WireLimits.typeLength);
export const room = printable(WireLimits.roomLength);
export const stream = printable(WireLimits.streamLength);
export const epoch = ascii(WireLimits.epochLength);
export const secret = ascii(WireLimits.secretLength);
export const token = ascii(WireLimits.tokenLength);
/** Stream offsets: integers from 0 to 2^53 - 1. 0 means "before the first message". */
export const offset = z.int().check(z.nonnegative());
export const timestamp = z.int().check(z.nonnegative());
export const version = z.int().check(z.minimum(1), z.maximum(65535));
