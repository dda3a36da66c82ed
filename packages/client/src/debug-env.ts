import { debugFromEnv } from '@holdfast/protocol';

// What `debug` defaults to. The package's `imports` map resolves `#debug-env` to this module in
// Node and to debug-env.browser.ts for bundlers that build for browsers (the `browser`
// condition), so a browser bundle carries no reader of `process.env`.

/** Whether `HOLDFAST_DEBUG` or `DEBUG` asks for the client's verbose logs (Node). */
export const debugDefault = (): boolean => debugFromEnv('holdfast:client');
