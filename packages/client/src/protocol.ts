/**
 * The values the client uses from `@holdfast/protocol`, imported in this one place. A bundler
 * that keeps the package external (as the size check does) emits one `import` statement per
 * importing module, so the other modules import these values from here. Types are imported
 * from `@holdfast/protocol` directly: they leave nothing in the output.
 */
export {
  checkClientFrame,
  checkJsonValue,
  decodeServerFrameLenient,
  encodeOwnClientFrame,
  HoldfastError,
  isRetryable,
  PROTOCOL_VERSION,
  parseRetryAfter,
  roomOfStream,
  roomStream,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
  utf8Length,
} from '@holdfast/protocol';
export {
  applyRule,
  array,
  int,
  object,
  oneOf,
  optional,
  resumeRule,
  roomRule,
  str,
  text,
} from '@holdfast/protocol/rules';

import type { CloseCode } from '@holdfast/protocol';

// The close codes the client sends or reports, as constants of their own: a bundler inlines
// them, where `CloseCode.Timeout` would keep the whole table (its names) in the bundle. Their
// types check them against the table.
/** `CloseCode.Normal`. */
export const CLOSE_NORMAL: typeof CloseCode.Normal = 1000;
/** `CloseCode.Abnormal`. */
export const CLOSE_ABNORMAL: typeof CloseCode.Abnormal = 1006;
/** `CloseCode.SessionEnded`. */
export const CLOSE_SESSION_ENDED: typeof CloseCode.SessionEnded = 4000;
/** `CloseCode.Unauthorized`. */
export const CLOSE_UNAUTHORIZED: typeof CloseCode.Unauthorized = 4401;
/** `CloseCode.BadProtocol`. */
export const CLOSE_BAD_PROTOCOL: typeof CloseCode.BadProtocol = 4400;
/** `CloseCode.Timeout`. */
export const CLOSE_TIMEOUT: typeof CloseCode.Timeout = 4408;
