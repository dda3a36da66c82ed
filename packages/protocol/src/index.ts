/**
 * `@holdfast/protocol`: the Holdfast wire protocol. Zod schemas of every frame, a codec that
 * validates both ways, the close-code table, error classes and `defineProtocol()`.
 *
 * @packageDocumentation
 */
export * from './close-codes.js';
export * from './codec.js';
export * from './define.js';
export * from './english.js';
export * from './errors.js';
export * from './frames.js';
export * from './lenient.js';
export * from './logger.js';
export { checkClientFrame, encodeOwnClientFrame } from './own-frames.js';
export * from './server-frames.js';
export * from './unions.js';
export {
  isWireId,
  isWireRoom,
  isWireStream,
  isWireToken,
  isWireType,
  PROTOCOL_VERSION,
  roomOfStream,
  roomStream,
  Streams,
  SUBPROTOCOL,
  SUPPORTED_VERSIONS,
  TOKEN_SUBPROTOCOL_PREFIX,
  WireLimits,
} from './wire.js';
