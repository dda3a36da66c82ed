#!/usr/bin/env node
// `npm start` / `pnpm start`: bootstrap, build the demo and what it uses, run it (in memory
// unless REDIS_URL is set) on PORT (default 3000). `npm start -- --react`: the React example
// (apps/react-example) instead.
import { ensureDependencies, run } from './bootstrap.mjs';

const app = process.argv.includes('--react') ? '@holdfast/react-example' : '@holdfast/demo';
const pnpm = ensureDependencies();
const px = (...args) => run(pnpm[0], [...pnpm.slice(1), ...args]);
const built = px('exec', 'turbo', 'run', 'build', `--filter=${app}...`);
if (built !== 0) process.exit(built);
process.exit(px('--filter', app, 'start'));
