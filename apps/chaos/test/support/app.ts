/** The chaos suite's app protocol: testkit's, shared with the child servers (server-main.mjs). */
export { type ChaosApp as App, chaosApp as app } from '@holdfast/testkit';
