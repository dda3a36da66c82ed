import { Script } from './script.js';
import { APPEND, APPEND_PART, OPEN_MESSAGES, READ, REWIND_POINT } from './stream-scripts.js';

export { Script };

/**
 * Connect, touch or refresh a session. KEYS: session, handled, handled order, claims.
 * ARGV: mode, now, ttl, lease, this node's id, backstop.
 *
 * - `connect` (a connection attached here): owner = this node, expiry = now + lease,
 *   connection count + 1.
 * - `touch` with ttl 0: same without counting; with ttl > 0 (disconnected): expiry = now +
 *   ttl and no owner, unless another node owns the session now (it resumed there): ignored.
 * - `refresh` (the owner's periodic lease renewal): only while this node is the owner.
 *
 * Returns {expiry, user, connections before} or {-1} (no session) / {-2} (owned elsewhere).
 */
export const TOUCH = new Script(
  'touch',
  `
local sess = KEYS[1]
if redis.call('EXISTS', sess) == 0 then return {-1} end
local mode, now, ttl, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local owner, backstop = ARGV[5], tonumber(ARGV[6])
local o = redis.call('HGET', sess, 'o') or ''
local e
local n = 0
if mode == 'refresh' then
  if o ~= owner then return {-2} end
  e = now + lease
elseif mode == 'touch' and ttl > 0 then
  if o ~= '' and o ~= owner then return {-2} end
  e = now + ttl
  redis.call('HSET', sess, 'o', '')
else
  e = now + lease
  redis.call('HSET', sess, 'o', owner)
  if mode == 'connect' then n = redis.call('HINCRBY', sess, 'n', 1) - 1 end
end
redis.call('HSET', sess, 'e', string.format('%d', e))
local px = string.format('%d', e - now + backstop)
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], px) end
return {e, redis.call('HGET', sess, 'u'), n}
`,
);

/**
 * Delete a session and everything it owns, atomically: one caller wins and gets the record.
 * KEYS: session, handled, handled order, claims, session stream meta, log, grow and open (the
 * parts lists of its growing messages are named from grow). ARGV: now, '1' to delete only when
 * expired. Returns {1, fields} (deleted), {0} (missing), or {2, expiry} (not expired: it was
 * resumed since it was listed as expired).
 */
export const DELETE_SESSION = new Script(
  'deleteSession',
  `
local function delete()
  for _, s in ipairs(redis.call('HKEYS', KEYS[7])) do redis.call('DEL', KEYS[7] .. ':' .. s) end
  redis.call('DEL', unpack(KEYS))
end
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then
  delete()
  return {0}
end
if ARGV[2] == '1' then
  for i = 1, #h, 2 do
    if h[i] == 'e' and tonumber(h[i + 1]) > tonumber(ARGV[1]) then return {2, h[i + 1]} end
  end
end
delete()
return {1, h}
`,
);

/**
 * Sessions past their expiry, claimed for a while so that one node expires each.
 * KEYS: expiry index. ARGV: now, claimed until, limit.
 */
export const CLAIM_EXPIRED = new Script(
  'claimExpired',
  `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
`,
);

/** Write fields of an existing session (never recreates a deleted one). KEYS: session. ARGV: field, value, ... */
export const UPDATE_SESSION = new Script(
  'updateSession',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`,
);

/** Record a room in an existing session, keeping join order. KEYS: session. ARGV: room. */
export const SESSION_JOIN = new Script(
  'sessionJoin',
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = 'r:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], f) == 0 then
  redis.call('HSET', KEYS[1], f, redis.call('HINCRBY', KEYS[1], 'rn', 1))
end
return 1
`,
);

/**
 * The stored `res` of a handled client message, or a claim to handle it. KEYS: session,
 * handled, claims. ARGV: message id, now, this node's id, claim duration, fallback TTL.
 * Returns {1, res} (handled), {0} (claimed by this node: run the handler), or {2, until}
 * (another node is running it until then at most).
 */
export const GET_HANDLED = new Script(
  'getHandled',
  `
local res = redis.call('HGET', KEYS[2], ARGV[1])
if res then return {1, res} end
local now = tonumber(ARGV[2])
local c = redis.call('HGET', KEYS[3], ARGV[1])
if c then
  local o, ex = string.match(c, '^(.*)|(%d+)$')
  if o and o ~= ARGV[3] and tonumber(ex) > now then return {2, tonumber(ex)} end
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3] .. '|' .. string.format('%d', now + tonumber(ARGV[4])))
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = tonumber(ARGV[5]) end
redis.call('PEXPIRE', KEYS[3], ttl)
return {0}
`,
);

/**
 * Store a handled message's `res`, forget the oldest beyond `keep`, release the claim.
 * KEYS: session, handled, handled order, claims. ARGV: id, res, keep, fallback TTL.
 */
export const PUT_HANDLED = new Script(
  'putHandled',
  `
if redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[1])
  local keep = tonumber(ARGV[3])
  while redis.call('LLEN', KEYS[3]) > keep do
    redis.call('HDEL', KEYS[2], redis.call('LPOP', KEYS[3]))
  end
end
redis.call('HDEL', KEYS[4], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = tonumber(ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
`,
);

/** Add a room member. KEYS: members, user counts. ARGV: session id, user. Returns {added, user's sessions}. */
export const JOIN_ROOM = new Script(
  'joinRoom',
  `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  return {1, redis.call('HINCRBY', KEYS[2], ARGV[2], 1)}
end
return {0, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')}
`,
);

/** Remove a room member. KEYS: members, user counts. ARGV: session id, user. Returns {removed, user's sessions}. */
export const LEAVE_ROOM = new Script(
  'leaveRoom',
  `
local u = redis.call('HGET', KEYS[1], ARGV[1])
if u then
  redis.call('HDEL', KEYS[1], ARGV[1])
  local c = redis.call('HINCRBY', KEYS[2], u, -1)
  if c <= 0 then redis.call('HDEL', KEYS[2], u) end
end
local n = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if u then return {1, n} end
return {0, n}
`,
);

/**
 * Mark a member session present. KEYS: members, present sessions, present counts per user.
 * ARGV: session id, user, connection id. Returns {changed, user's present sessions}.
 */
export const MARK_PRESENT = new Script(
  'markPresent',
  `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) == 1 then
  return {1, redis.call('HINCRBY', KEYS[3], ARGV[2], 1)}
end
return {0, tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')}
`,
);

/**
 * Mark a session absent, only while present through the given connection ('' for any).
 * KEYS: present sessions, present counts per user. ARGV: session id, user, connection id.
 * Returns {changed, user's present sessions}.
 */
export const MARK_ABSENT = new Script(
  'markAbsent',
  `
local c = redis.call('HGET', KEYS[1], ARGV[1])
if c and (ARGV[3] == '' or c == ARGV[3]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  local n = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
  if n <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
    n = 0
  end
  return {1, n}
end
return {0, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')}
`,
);

/**
 * Take a connection slot of a user if fewer than `limit` live ones exist (expired slots of
 * dead nodes are dropped first). KEYS: slots, slot of each session. ARGV: now, ttl,
 * connection id, limit, session id ('' for none).
 *
 * A session has one connection at a time: the slot of an earlier connection of the same
 * session (it is being replaced, or its node died) is given to this one, so a client's own
 * resume is never refused because of its own stale slot.
 */
export const ACQUIRE_SLOT = new Script(
  'acquireSlot',
  `
local now, ttl, conn, sid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[5]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if sid ~= '' then
  local prev = redis.call('HGET', KEYS[2], sid)
  if prev and prev ~= conn then redis.call('ZREM', KEYS[1], prev) end
end
if not redis.call('ZSCORE', KEYS[1], conn) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), conn)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if sid ~= '' then
  redis.call('HSET', KEYS[2], sid, conn)
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`,
);

/**
 * Give a connection's slot back. KEYS: slots, slot of each session. ARGV: connection id,
 * session id ('' for none); the session's entry goes only if it still names this connection.
 */
export const RELEASE_SLOT = new Script(
  'releaseSlot',
  `
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
`,
);

/** Live members of a per-user index (expired ones are dropped). KEYS: index. ARGV: now. */
export const LIVE_MEMBERS = new Script(
  'liveMembers',
  `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`,
);

/** Every script, for `SCRIPT LOAD` at start. */
export const ALL_SCRIPTS: readonly Script[] = [
  APPEND,
  APPEND_PART,
  READ,
  OPEN_MESSAGES,
  REWIND_POINT,
  TOUCH,
  DELETE_SESSION,
  CLAIM_EXPIRED,
  UPDATE_SESSION,
  SESSION_JOIN,
  GET_HANDLED,
  PUT_HANDLED,
  JOIN_ROOM,
  LEAVE_ROOM,
  MARK_PRESENT,
  MARK_ABSENT,
  ACQUIRE_SLOT,
  RELEASE_SLOT,
  LIVE_MEMBERS,
];
