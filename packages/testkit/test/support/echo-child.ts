// A child for child-server.test.ts: answers `echo`, `fail` and `close` over IPC, from the
// TypeScript sources (ChildServer's `source` mode).
import { writeFileSync } from 'node:fs';
import { serveParent } from '../../src/index.js';

const config = JSON.parse(process.env.ECHO_CHILD ?? '{}') as { greeting: string; closedFile: string };

serveParent(
  {
    echo: (value: unknown) => ({ greeting: config.greeting, value }),
    fail: () => {
      throw new Error('asked to fail');
    },
    close: () => {
      writeFileSync(config.closedFile, 'closed');
      setImmediate(() => process.exit(0));
    },
  },
  { url: 'ws://127.0.0.1:1', pid: process.pid },
);
