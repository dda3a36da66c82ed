/**
 * The values the client uses from `@holdfast/protocol`, imported in this one place. A bundler
 * that keeps the package external (as the size check does) emits one `import` statement per
 * importing module, so the other modules import these values from here. Types are imported
 * from `@holdfast/protocol` directly: they leave nothing in the output.
 */
export {
  CloseCode,
  checkClientFrame,
  checkJsonValue,
  decodeServerFrameLenient,
  ErrorCode,
  encodeOwnClientFrame,
  HoldfastError,
  isRetryable,
  isWireRoom,
  PROTOCOL_VERSION,
  parseRetryAfter,
  Streams,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
} from '@holdfast/protocol';
