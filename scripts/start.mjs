#!/usr/bin/env node
// `npm start` / `pnpm start`: bootstrap, build the demo and what it uses, run it (in memory
// unless REDIS_URL is set) on PORT (default 3000).
import { ensureDependencies, run } from './bootstrap.mjs';

const pnpm = ensureDependencies();
const px = (...args) => run(pnpm[0], [...pnpm.slice(1), ...args]);
const built = px('exec', 'turbo', 'run', 'build', '--filter=@holdfast/demo...');
if (built !== 0) process.exit(built);
process.exit(px('--filter', '@holdfast/demo', 'start'));
