/**
 * `@holdfast/testkit`: utilities for Holdfast's own test suites (not published).
 *
 * @packageDocumentation
 */
export { type CutMode, FaultProxy } from './proxy.js';
