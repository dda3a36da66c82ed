import { Script } from './script.js';

// The stream scripts. Layout of one stream (every key under the stream's hash tag, see keys.ts):
//   meta  hash: e (epoch), seq (last offset), first (one more than the position of the last entry
//         dropped), bytes (retained), ft (time the oldest entry's position was written)
//   log   Redis Stream, one entry per retained message, id `<position>-0`, oldest position first.
//         Plain message: f (its msg frame), t (ms), x (except JSON, absent for none).
//         Growing message: g (its start), t, x, b (bytes: snapshot + parts), o ('1' while open).
//   grow  hash: start -> the growing message's snapshot msg frame
//   open  sorted set: start of each open message, scored by its position
//   grow:<start>  list: the message's app frames after its snapshot (named from `grow`, so in
//         the same hash slot; Redis lets a script use undeclared keys of the slot it runs in)
// Moving a growing message to a new position is XDEL + XADD of its small log entry: the snapshot
// and the parts stay where they are, so an append costs O(1) whatever the message's size.
//
// Offsets and times are integers below 2^53: Lua 5.1 numbers are doubles, so they are formatted
// with %d (tostring would switch to 1e+14 notation).
const STREAM_LIB = `
local function int(n) return string.format('%d', n) end
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
-- The stream's state, created with a new epoch when missing (never existed, flushed,
-- expired). A new epoch starts empty: whatever was left of an older one is dropped.
local function meta(mkey, lkey, gkey, okey, newEpoch, now)
  local m = redis.call('HMGET', mkey, 'e', 'seq', 'first', 'bytes', 'ft')
  if not m[1] then
    for _, s in ipairs(redis.call('HKEYS', gkey)) do redis.call('DEL', gkey .. ':' .. s) end
    redis.call('DEL', lkey, gkey, okey)
    redis.call('HSET', mkey, 'e', newEpoch, 'seq', 0, 'first', 1, 'bytes', 0, 'ft', int(now))
    return newEpoch, 0, 1, 0, now
  end
  return m[1], tonumber(m[2]) or 0, tonumber(m[3]) or 1, tonumber(m[4]) or 0, tonumber(m[5]) or now
end
-- Forget one log entry's message; returns its bytes.
local function drop(gkey, okey, e)
  local g = field(e[2], 'g')
  if g then
    redis.call('HDEL', gkey, g)
    redis.call('ZREM', okey, g)
    redis.call('DEL', gkey .. ':' .. g)
    return tonumber(field(e[2], 'b')) or 0
  end
  local f = field(e[2], 'f')
  return f and string.len(f) or 0
end
-- Drop entries oldest position first while over a bound (count, bytes, age). Returns the new
-- first offset (one more than the last dropped position), retained bytes, time of the oldest
-- entry and whether anything changed.
local function trim(lkey, gkey, okey, count, first, bytes, ft, maxM, maxB, minTs)
  local changed = false
  while count > 0 and (count > maxM or (bytes > maxB and count > 1) or ft < minTs) do
    local r = redis.call('XRANGE', lkey, '-', '+', 'COUNT', 2)
    local e = r[1]
    changed = true
    if not e then
      bytes = 0
      break
    end
    bytes = bytes - drop(gkey, okey, e)
    redis.call('XDEL', lkey, e[1])
    count = count - 1
    first = tonumber(string.match(e[1], '^%d+')) + 1
    local n = r[2]
    if n then
      ft = tonumber(field(n[2], 't')) or ft
      if bytes < 0 then bytes = 0 end
    else
      bytes = 0
    end
  end
  return first, bytes, ft, changed
end
-- The state after trimming by age (reads never return anything older than maxAgeMs), with the
-- stream's idle expiry renewed.
local function prepare(mkey, lkey, gkey, okey, newEpoch, now, maxM, maxB, minTs, ttl)
  local epoch, seq, first, bytes, ft = meta(mkey, lkey, gkey, okey, newEpoch, now)
  local changed
  first, bytes, ft, changed = trim(lkey, gkey, okey, redis.call('XLEN', lkey), first, bytes, ft, maxM, maxB, minTs)
  if changed then
    redis.call('HSET', mkey, 'first', int(first), 'bytes', int(bytes), 'ft', int(ft))
  end
  redis.call('PEXPIRE', mkey, ttl)
  redis.call('PEXPIRE', lkey, ttl)
  return epoch, seq, first
end
-- One retained entry as the engine returns it: {id, fields, snapshot, parts}.
local function entry(gkey, e)
  local g = field(e[2], 'g')
  if not g then return {e[1], e[2], '', {}} end
  return {e[1], e[2], redis.call('HGET', gkey, g) or '', redis.call('LRANGE', gkey .. ':' .. g, 0, -1)}
end
local function publish(chan, sharded, payload)
  if sharded == '1' then
    redis.call('SPUBLISH', chan, payload)
  else
    redis.call('PUBLISH', chan, payload)
  end
end
`;

/**
 * Append one message. KEYS: meta, log, channel, grow, open. ARGV: new epoch (used only when
 * the stream has none), stream name as JSON, body, except JSON ('' for none), now,
 * maxMessages, maxBytes, oldest time kept, idle TTL, '1' for SPUBLISH / '0' for PUBLISH,
 * '1' when the message is open (grows by appends), TTL of a growing message's keys.
 *
 * Builds the `msg` frame (the protocol's `encodeMsgFrame`), stores it, trims, and publishes
 * one payload `m\n<epoch>\n<offset>\n<except>\n<frame>` to the stream's channel. One
 * command per message, whatever the audience.
 */
export const APPEND = new Script(
  'append',
  `${STREAM_LIB}
local mkey, lkey, chan, gkey, okey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = tonumber(ARGV[5])
local epoch, seq, first, bytes, ft = meta(mkey, lkey, gkey, okey, ARGV[1], now)
local count = redis.call('XLEN', lkey)
if count == 0 then ft = now end
seq = seq + 1
local off = int(seq)
local frame = '{"t":"msg","stream":' .. ARGV[2] .. ',"epoch":"' .. epoch .. '","offset":' .. off .. ',' .. ARGV[3] .. '}'
local len = string.len(frame)
if ARGV[11] == '1' then
  redis.call('DEL', gkey .. ':' .. off)
  redis.call('HSET', gkey, off, frame)
  redis.call('ZADD', okey, off, off)
  redis.call('PEXPIRE', gkey, ARGV[12])
  redis.call('PEXPIRE', okey, ARGV[12])
  if ARGV[4] ~= '' then
    redis.call('XADD', lkey, off .. '-0', 'g', off, 't', ARGV[5], 'b', len, 'o', '1', 'x', ARGV[4])
  else
    redis.call('XADD', lkey, off .. '-0', 'g', off, 't', ARGV[5], 'b', len, 'o', '1')
  end
elseif ARGV[4] ~= '' then
  redis.call('XADD', lkey, off .. '-0', 'f', frame, 't', ARGV[5], 'x', ARGV[4])
else
  redis.call('XADD', lkey, off .. '-0', 'f', frame, 't', ARGV[5])
end
bytes = bytes + len
first, bytes, ft = trim(lkey, gkey, okey, count + 1, first, bytes, ft, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
redis.call('HSET', mkey, 'seq', off, 'first', int(first), 'bytes', int(bytes), 'ft', int(ft))
redis.call('PEXPIRE', mkey, ARGV[9])
redis.call('PEXPIRE', lkey, ARGV[9])
publish(chan, ARGV[10], 'm\\n' .. epoch .. '\\n' .. off .. '\\n' .. ARGV[4] .. '\\n' .. frame)
return {epoch, seq}
`,
);

/**
 * Append one `app` to an open message (extension `appends`). KEYS: meta, log, channel, grow,
 * open, the message's parts list. ARGV: stream name as JSON, start, app body, '1' to end it,
 * '1' when a snapshot follows, the snapshot body, now, maxMessages, maxBytes, oldest time kept,
 * idle TTL, TTL of a growing message's keys, '1' for SPUBLISH, the expected epoch ('' for any).
 *
 * Takes the next offset k, builds the `app` frame (the protocol's `encodeAppFrame`), moves the
 * message's log entry to position k (with the snapshot, when given, replacing the stored one
 * and its parts), trims and publishes the app frame like `APPEND` (same payload).
 * Returns {1, epoch, k}, or {0, epoch} when the message is not open in the current epoch.
 */
export const APPEND_PART = new Script(
  'appendPart',
  `${STREAM_LIB}
local mkey, lkey, chan, gkey, okey, pkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local m = redis.call('HMGET', mkey, 'e', 'seq', 'first', 'bytes', 'ft')
if not m[1] then return {0, ''} end
local epoch = m[1]
if ARGV[14] ~= '' and ARGV[14] ~= epoch then return {0, epoch} end
local start = ARGV[2]
local pos = redis.call('ZSCORE', okey, start)
if not pos then return {0, epoch} end
local old = redis.call('XRANGE', lkey, int(tonumber(pos)) .. '-0', int(tonumber(pos)) .. '-0')[1]
if not old then
  redis.call('ZREM', okey, start)
  return {0, epoch}
end
local now = tonumber(ARGV[7])
local seq, first, bytes = tonumber(m[2]) or 0, tonumber(m[3]) or 1, tonumber(m[4]) or 0
local x = field(old[2], 'x') or ''
local before = tonumber(field(old[2], 'b')) or 0
seq = seq + 1
local off = int(seq)
local head = '{"t":"app","stream":' .. ARGV[1] .. ',"epoch":"' .. epoch .. '","offset":' .. off .. ','
local app = head .. ARGV[3] .. '}'
local size
if ARGV[5] == '1' then
  local snap = '{"t":"msg","stream":' .. ARGV[1] .. ',"epoch":"' .. epoch .. '","offset":' .. off .. ',"start":' .. start .. ',' .. ARGV[6] .. '}'
  redis.call('HSET', gkey, start, snap)
  redis.call('DEL', pkey)
  size = string.len(snap)
else
  redis.call('RPUSH', pkey, app)
  redis.call('PEXPIRE', pkey, ARGV[12])
  size = before + string.len(app)
end
redis.call('XDEL', lkey, old[1])
local e = {off .. '-0', 'g', start, 't', ARGV[7], 'b', size}
if ARGV[4] == '1' then
  redis.call('ZREM', okey, start)
else
  redis.call('ZADD', okey, off, start)
  table.insert(e, 'o')
  table.insert(e, '1')
end
if x ~= '' then
  table.insert(e, 'x')
  table.insert(e, x)
end
redis.call('XADD', lkey, unpack(e))
bytes = bytes + size - before
-- The moved entry may have been the oldest: the oldest is now whichever comes first.
local oldest = redis.call('XRANGE', lkey, '-', '+', 'COUNT', 1)[1]
local ft = tonumber(field(oldest[2], 't')) or now
first, bytes, ft = trim(lkey, gkey, okey, redis.call('XLEN', lkey), first, bytes, ft, tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
redis.call('HSET', mkey, 'seq', off, 'first', int(first), 'bytes', int(bytes), 'ft', int(ft))
redis.call('PEXPIRE', mkey, ARGV[11])
redis.call('PEXPIRE', lkey, ARGV[11])
redis.call('PEXPIRE', gkey, ARGV[12])
redis.call('PEXPIRE', okey, ARGV[12])
publish(chan, ARGV[13], 'm\\n' .. epoch .. '\\n' .. off .. '\\n' .. x .. '\\n' .. app)
return {1, epoch, seq}
`,
);

/**
 * Read retained entries by position (and trim by age first, so nothing older than maxAgeMs is
 * ever returned). KEYS: meta, log, grow, open. ARGV: new epoch, now, maxMessages, maxBytes,
 * oldest time kept, idle TTL, after, limit (0: head only). Returns {epoch, last offset, first,
 * entries}, each entry {id, fields, snapshot ('' for a plain message), parts}.
 */
export const READ = new Script(
  'read',
  `${STREAM_LIB}
local mkey, lkey, gkey, okey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch, seq, first = prepare(mkey, lkey, gkey, okey, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
local after, limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local entries = {}
if limit > 0 and after < seq then
  for _, e in ipairs(redis.call('XRANGE', lkey, int(after + 1) .. '-0', '+', 'COUNT', limit)) do
    entries[#entries + 1] = entry(gkey, e)
  end
end
return {epoch, seq, first, entries}
`,
);

/**
 * The open messages at positions <= upTo, in position order (trimmed by age first).
 * KEYS: meta, log, grow, open. ARGV: new epoch, now, maxMessages, maxBytes, oldest time kept,
 * idle TTL, upTo. Returns what `READ` returns.
 */
export const OPEN_MESSAGES = new Script(
  'openMessages',
  `${STREAM_LIB}
local mkey, lkey, gkey, okey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch, seq, first = prepare(mkey, lkey, gkey, okey, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
local entries = {}
for _, start in ipairs(redis.call('ZRANGEBYSCORE', okey, '-inf', ARGV[7])) do
  local pos = int(tonumber(redis.call('ZSCORE', okey, start)))
  local e = redis.call('XRANGE', lkey, pos .. '-0', pos .. '-0')[1]
  if e then entries[#entries + 1] = entry(gkey, e) end
end
return {epoch, seq, first, entries}
`,
);

/**
 * Where a rewind starts (§10.5): the position just below the oldest of the newest `count`
 * entries written at or after `since` (trimmed by age first). KEYS: meta, log, grow, open.
 * ARGV: new epoch, now, maxMessages, maxBytes, oldest time kept, idle TTL, count, since
 * ('' for any time). Returns {epoch, R, entries after R}.
 */
export const REWIND_POINT = new Script(
  'rewindPoint',
  `${STREAM_LIB}
local mkey, lkey, gkey, okey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local epoch, seq = prepare(mkey, lkey, gkey, okey, ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6])
local count, since = tonumber(ARGV[7]), tonumber(ARGV[8])
local r, n = seq, 0
if count > 0 then
  for _, e in ipairs(redis.call('XREVRANGE', lkey, '+', '-', 'COUNT', count)) do
    if since and (tonumber(field(e[2], 't')) or 0) < since then break end
    r = tonumber(string.match(e[1], '^%d+')) - 1
    n = n + 1
  end
end
return {epoch, r, n}
`,
);
