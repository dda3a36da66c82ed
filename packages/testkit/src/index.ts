/**
 * `@holdfast/testkit`: utilities for Holdfast's own test suites (not published).
 *
 * @packageDocumentation
 */
export { type App, app } from './app.js';
export * from './conformance/index.js';
export { type Clock, ManualClock } from './manual-clock.js';
export { type CutMode, FaultProxy } from './proxy.js';
export { type AnyFrame, cursorsOf, RawClient } from './raw-client.js';
