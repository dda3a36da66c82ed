import type { Handled } from './handled.js';
import type { Health } from './health.js';
import type { Housekeeping } from './housekeeping.js';
import type { Link } from './link.js';
import type { Rooms } from './rooms.js';
import type { Sessions } from './sessions.js';
import type { Slots } from './slots.js';
import type { StreamStore } from './streams.js';
import type { Watches } from './watches.js';

/**
 * Where a {@link RedisEngine} keeps its modules. Not exported from the package: the engine's
 * own tests reach a module (e.g. `partsOf(engine).sessions.renewLeases()`) through it.
 */
export const PARTS: unique symbol = Symbol('holdfast.redis.parts');

/** The modules one engine is made of, one concept each. */
export interface EngineParts {
  link: Link;
  streams: StreamStore;
  watches: Watches;
  sessions: Sessions;
  handled: Handled;
  rooms: Rooms;
  slots: Slots;
  housekeeping: Housekeeping;
  health: Health;
}

/** The modules of an engine (for the package's own tests; not part of the public API). */
export function partsOf(engine: { readonly [PARTS]: EngineParts }): EngineParts {
  return engine[PARTS];
}
