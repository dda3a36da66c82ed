import { createHash } from 'node:crypto';

/**
 * A Lua script run with EVALSHA, falling back to EVAL when Redis lost its script cache
 * (restart, failover, `SCRIPT FLUSH`). Each script touches keys of one hash tag only, so it
 * is valid on Redis Cluster too.
 */
export class Script {
  /** SHA-1 of the source, as EVALSHA wants it. */
  readonly sha: string;

  constructor(
    /** Name for error messages. */
    readonly name: string,
    /** Lua source. */
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

// Shared helpers of the stream scripts. Offsets and times are integers below 2^53: Lua 5.1
// numbers are doubles, so they are formatted with %d (tostring would switch to 1e+14 notation).
const STREAM_LIB = `
local function int(n) return string.format('%d', n) end
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
-- The stream's state, created with a new epoch when missing (never existed, flushed,
-- expired). A new epoch starts an empty log: whatever was left of an older one is dropped.
local function meta(mkey, lkey, newEpoch, now)
  local m = redis.call('HMGET', mkey, 'e', 'seq', 'first', 'bytes', 'ft')
  if not m[1] then
    redis.call('DEL', lkey)
    redis.call('HSET', mkey, 'e', newEpoch, 'seq', 0, 'first', 1, 'bytes', 0, 'ft', int(now))
    return newEpoch, 0, 1, 0, now
  end
  return m[1], tonumber(m[2]) or 0, tonumber(m[3]) or 1, tonumber(m[4]) or 0, tonumber(m[5]) or now
end
-- Drop the oldest entries while over a bound (count, bytes, age). Returns the new first
-- offset, retained bytes, time of the oldest entry and whether anything changed.
local function trim(lkey, seq, first, bytes, ft, maxM, maxB, minTs)
  local changed = false
  while first <= seq and ((seq - first + 1) > maxM or (bytes > maxB and first < seq) or ft < minTs) do
    local r = redis.call('XRANGE', lkey, '-', '+', 'COUNT', 2)
    local e = r[1]
    changed = true
    if not e then
      first = seq + 1
      bytes = 0
      break
    end
    local f = field(e[2], 'f')
    bytes = bytes - (f and string.len(f) or 0)
    local n = r[2]
    if n then
      first = tonumber(string.match(n[1], '^%d+'))
      ft = tonumber(field(n[2], 't')) or ft
      if bytes < 0 then bytes = 0 end
    else
      first = seq + 1
      bytes = 0
    end
    redis.call('XTRIM', lkey, 'MINID', int(first) .. '-0')
  end
  return first, bytes, ft, changed
end
`;

/**
 * Append one message. KEYS: meta, log, channel. ARGV: new epoch (used only when the stream
 * has none), stream name as JSON, body, except JSON ('' for none), now, maxMessages,
 * maxBytes, oldest time kept, idle TTL, '1' for SPUBLISH / '0' for PUBLISH.
 *
 * Builds the `msg` frame (the protocol's `encodeMsgFrame`), stores it, trims, and publishes
 * one payload `m\n<epoch>\n<offset>\n<except>\n<frame>` to the stream's channel. One
 * command per message, whatever the audience.
 */
export const APPEND = new Script(
  'append',
  `${STREAM_LIB}
local mkey, lkey, chan = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[5])
local epoch, seq, first, bytes, ft = meta(mkey, lkey, ARGV[1], now)
if first > seq then
  first = seq + 1
  ft = now
end
seq = seq + 1
local off = int(seq)
local frame = '{"t":"msg","stream":' .. ARGV[2] .. ',"epoch":"' .. epoch .. '","offset":' .. off .. ',' .. ARGV[3] .. '}'
if ARGV[4] ~= '' then
  redis.call('XADD', lkey, off .. '-0', 'f', frame, 't', ARGV[5], 'x', ARGV[4])
else
  redis.call('XADD', lkey, off .. '-0', 'f', frame, 't', ARGV[5])
end
bytes = bytes + string.len(frame)
first, bytes, ft = trim(lkey, seq, first, bytes, ft, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
redis.call('HSET', mkey, 'seq', off, 'first', int(first), 'bytes', int(bytes), 'ft', int(ft))
local ttl = ARGV[9]
redis.call('PEXPIRE', mkey, ttl)
redis.call('PEXPIRE', lkey, ttl)
local payload = 'm\\n' .. epoch .. '\\n' .. off .. '\\n' .. ARGV[4] .. '\\n' .. frame
if ARGV[10] == '1' then
  redis.call('SPUBLISH', chan, payload)
else
  redis.call('PUBLISH', chan, payload)
end
return {epoch, seq}
`,
);

/**
 * Read retained messages (and trim by age first, so nothing older than maxAgeMs is ever
 * returned). KEYS: meta, log. ARGV: new epoch, now, maxMessages, maxBytes, oldest time kept,
 * idle TTL, after, limit (0: head only). Returns {epoch, last offset, first offset, entries}.
 */
export const READ = new Script(
  'read',
  `${STREAM_LIB}
local mkey, lkey = KEYS[1], KEYS[2]
local now = tonumber(ARGV[2])
local epoch, seq, first, bytes, ft = meta(mkey, lkey, ARGV[1], now)
local changed
first, bytes, ft, changed = trim(lkey, seq, first, bytes, ft, tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
if changed then
  redis.call('HSET', mkey, 'first', int(first), 'bytes', int(bytes), 'ft', int(ft))
end
redis.call('PEXPIRE', mkey, ARGV[6])
redis.call('PEXPIRE', lkey, ARGV[6])
local after, limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local entries = {}
if limit > 0 and after < seq and first <= seq then
  local from = after + 1
  if from < first then from = first end
  entries = redis.call('XRANGE', lkey, int(from) .. '-0', '+', 'COUNT', limit)
end
return {epoch, seq, first, entries}
`,
);

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
 * KEYS: session, handled, handled order, claims, session stream meta, session stream log.
 * ARGV: now, '1' to delete only when expired. Returns {1, fields} (deleted), {0} (missing),
 * or {2, expiry} (not expired: it was resumed since it was listed as expired).
 */
export const DELETE_SESSION = new Script(
  'deleteSession',
  `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then
  redis.call('DEL', unpack(KEYS))
  return {0}
end
if ARGV[2] == '1' then
  for i = 1, #h, 2 do
    if h[i] == 'e' and tonumber(h[i + 1]) > tonumber(ARGV[1]) then return {2, h[i + 1]} end
  end
end
redis.call('DEL', unpack(KEYS))
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
  READ,
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
