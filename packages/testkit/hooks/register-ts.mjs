// `node --import @holdfast/testkit/hooks/register-ts.mjs` (ChildServer does it in `source`
// mode): install the TypeScript hooks of ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
