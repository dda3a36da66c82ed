// `#debug-env` in a browser build (see debug-env.ts): a page has no environment variables to
// read, so verbose logs are on only with `debug: true`.

/** Whether the environment asks for the client's verbose logs: never in a browser. */
export const debugDefault = (): boolean => false;
