// The ```ts blocks of the READMEs, each compiled as a module of its own by consumer.test.ts.
// Snippets may use the names below without defining them: they stand for the app's own code.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The app's own functions and values that README snippets call without defining them. */
export const PLACEHOLDERS = `import type { WebStorageLike } from '@holdfast/client';
import type { Authenticate, Logger } from '@holdfast/server';

declare global {
  function loadHistory(room: string): Promise<string[]>;
  function getJwt(): Promise<string>;
  function canJoin(user: string, room: string): boolean;
  function render(...args: unknown[]): void;
  function refetch(stream: string): void;
  function reloadHistory(stream: string): void;
  function showStatus(state: unknown): void;
  function reportToSentry(error: Error, context: Record<string, unknown>): void;
  const logger: Logger;
  const authenticate: Authenticate;
  const sessionStorage: WebStorageLike;
  const ADMIN: string;
  const text: string;
  function lookUpApiKey(key: string): Promise<{ owner: string; plan: string } | undefined>;
}
export {};
`;

/** Every ```ts block of README.md and packages/*\/README.md, as `{ file, code }`. */
export function extractSnippets(root: string): { file: string; code: string }[] {
  const readmes = [
    ['root', join(root, 'README.md')],
    ...readdirSync(join(root, 'packages')).map((p) => [p, join(root, 'packages', p, 'README.md')]),
  ];
  const out: { file: string; code: string }[] = [];
  for (const [name, path] of readmes) {
    let text: string;
    try {
      text = readFileSync(path as string, 'utf8');
    } catch {
      continue;
    }
    let n = 0;
    for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
      n += 1;
      out.push({ file: `${name}-${n}.ts`, code: `${match[1]}\nexport {};\n` });
    }
  }
  return out;
}
