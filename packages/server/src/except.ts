/**
 * The one exclusion rule of the send functions: a recipient is excluded when its session or
 * its user is listed in `except`.
 */
import type { Except } from './engine.js';

/** `except` when it excludes someone, else undefined (the fast path of every delivery). */
export function normalizeExcept(except: Except | undefined): Except | undefined {
  return except && (except.sessions?.length || except.users?.length) ? except : undefined;
}

/** Is the session (of this user, when known) excluded? */
export function isExcluded(except: Except | undefined, sessionId: string, user: string | undefined): boolean {
  if (!except) return false;
  return Boolean(
    except.sessions?.includes(sessionId) || (user !== undefined && except.users?.includes(user)),
  );
}

/**
 * How many of `ids` are not excluded. `users` maps session ids to users; without it only the
 * sessions of `except` count (a session whose user is unknown counts as user `''`).
 */
export function countIncluded(
  ids: string[],
  users: Map<string, string> | undefined,
  except: Except | undefined,
): number {
  if (!except) return ids.length;
  let n = 0;
  for (const id of ids) if (!isExcluded(except, id, users ? (users.get(id) ?? '') : undefined)) n++;
  return n;
}
