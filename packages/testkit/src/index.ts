/**
 * `@holdfast/testkit`: utilities for Holdfast's own test suites (not published).
 *
 * @packageDocumentation
 */
export { type App, app } from './app.js';
export { type ChaosApp, chaosApp } from './chaos-app.js';
export { type ChildCommands, serveParent } from './child-ipc.js';
export {
  type ChildMessage,
  type ChildRequest,
  type ChildRun,
  ChildServer,
  type ChildServerOptions,
} from './child-server.js';
export { Cleanups } from './cleanups.js';
export * from './conformance/index.js';
export { ManualClock } from './manual-clock.js';
export { type CutMode, FaultProxy } from './proxy.js';
export { type AnyFrame, cursorsOf, RawClient } from './raw-client.js';
