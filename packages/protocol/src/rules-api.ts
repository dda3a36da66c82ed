/**
 * `@holdfast/protocol/rules`: the wire's rules in plain code, without zod. What the browser
 * client checks frames with (the frames it builds, the frames a server sends) and the state it
 * keeps in storage, for code that must agree with the frame schemas without bundling them. A
 * rule returns the value as decoded (objects with their known fields only) or throws a
 * {@link Found}; {@link applyRule} turns that into a `ProtocolError`.
 *
 * @example
 * ```ts
 * import { applyRule, array, object, roomRule } from '@holdfast/protocol/rules';
 * const r = applyRule(object({ rooms: array(roomRule) }), { rooms: [''] }, 'Bad state');
 * // ProtocolError STRING_TOO_SHORT: 'Bad state at rooms.0: STRING_TOO_SHORT'
 * ```
 *
 * @packageDocumentation
 */
export { resumeRule, roomRule } from './own-frames.js';
export * from './rules.js';
