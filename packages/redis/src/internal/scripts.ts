import { createHash } from 'node:crypto'

/**
 * The Lua scripts behind every operation. Each one touches exactly one key (KEYS[1]), so on a
 * Redis Cluster it runs on one slot and never meets CROSSSLOT.
 *
 * Session hash fields: c = createdAt, r = refreshedAt, v = version, u = user, e = expiry (epoch
 * ms, by the store's clock), x = the time (epoch ms) until which u's index is known to list this
 * session, z = the data's size (see below). Each top-level data key is a field of its own, named by
 * the key's JSON (so it starts with '"' and never meets a field above), holding the value's JSON:
 * a change set is merged by writing and deleting fields, and no script ever parses JSON (cjson
 * would turn [] into {} and round numbers to 14 digits). z is the sum over data fields of
 * #name + #value + 2 bytes, so the data's JSON is z + 1 bytes long (2 when there is none).
 * A record past `e` is treated as gone, as Redis' own ttl will soon make it: with the default
 * clock the two agree, and a test clock moves `e` without waiting.
 *
 * Every time ("now") comes from the caller's clock, never from Redis: index promises are compared
 * across slots, hence across Redis servers, and the app's clock is the one the engine uses too.
 *
 * A bound session lives in its id's slot, its user's index in the user's slot: no script can
 * write both. So the index is written first and the session records how long the index will
 * keep it (`x`). A save or touch that would make the session outlive that promise refuses
 * ('index'); the caller extends the index, then retries. The index only ever drops entries whose
 * promise has run out (by then the session is gone), so a live bound session is always listed.
 */

export interface Script {
  readonly source: string
  readonly sha1: string
}

/** Clock skew tolerated between the app servers that write and prune one user's index (ms). */
export const CLOCK_MARGIN_MS = 5 * 60_000

function script(source: string): Script {
  const text = source.trim().replaceAll('MARGIN', String(CLOCK_MARGIN_MS))
  return Object.freeze({ source: text, sha1: createHash('sha1').update(text).digest('hex') })
}

/**
 * Reads a record: its own fields and values, flat, then 'd' and the data's JSON, which the script
 * joins from the data fields (empty when missing); or 0 when the key holds another type, so that a
 * foreign or corrupt key reads as "missing" rather than failing the request. One reply element
 * for the data rather than two per key: the client decodes each element, and that cost is paid
 * on every load, in the app's process.
 */
export const GET = script(`
local f = redis.pcall('HGETALL', KEYS[1])
if f.err then return 0 end
if #f == 0 then return f end
local reply, data = {}, {}
for i = 1, #f, 2 do
  local name = f[i]
  if string.byte(name) == 34 then
    data[#data + 1] = name .. ':' .. f[i + 1]
  elseif name ~= 'x' and name ~= 'z' then
    reply[#reply + 1] = name
    reply[#reply + 1] = f[i + 1]
  end
end
reply[#reply + 1] = 'd'
reply[#reply + 1] = '{' .. table.concat(data, ',') .. '}'
return reply
`)

/**
 * ARGV: expectVersion ('' = unconditional), version, createdAt, refreshedAt, user ('' = none),
 * ttl ms, now ms, promise ms the caller just wrote into user's index (0 = none), z, then the data
 * fields as name, value pairs. Replaces the whole record.
 * Returns 'ok', 'conflict', or 'index' (nothing written: the index must be extended first).
 */
export const SET = script(`
local k = KEYS[1]
local now = tonumber(ARGV[7])
local kind = redis.call('TYPE', k).ok
local current, owner, promise = 0, false, 0
if kind == 'hash' then
  local f = redis.call('HMGET', k, 'v', 'u', 'x', 'e')
  local expires = tonumber(f[4])
  if not expires or expires > now then
    current = tonumber(f[1]) or -1
    owner = f[2]
    promise = tonumber(f[3]) or 0
  end
elseif kind ~= 'none' then
  current = -1
end
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then return 'conflict' end
local user, ttl = ARGV[5], tonumber(ARGV[6])
if user ~= '' then
  if owner ~= user then promise = 0 end
  local written = tonumber(ARGV[8])
  if written > promise then promise = written end
  if promise < now + ttl + MARGIN then return 'index' end
end
redis.call('DEL', k)
redis.call('HSET', k, 'c', ARGV[3], 'r', ARGV[4], 'v', ARGV[2], 'e', string.format('%d', now + ttl), 'z', ARGV[9])
for i = 10, #ARGV, 2 do redis.call('HSET', k, ARGV[i], ARGV[i + 1]) end
if user ~= '' then redis.call('HSET', k, 'u', user, 'x', string.format('%d', promise)) end
redis.call('PEXPIRE', k, ttl)
return 'ok'
`)

/**
 * Merges one request's change set into a live record, in one step: parallel requests of one
 * session never overwrite each other's keys. ARGV: refreshedAt, ttl ms, now ms, maxDataSize
 * bytes, bind ('' = keep the user, '1' = bind to ARGV[6], '0' = unbind), the user whose index the
 * caller just extended ('' = none) and that promise (ms), the number n of fields to delete, those
 * n names, then the fields to write as name, value pairs.
 * Returns {'ok', version}, {'missing'}, {'large'} or {'index', user}; only 'ok' writes anything.
 */
export const APPLY = script(`
local k = KEYS[1]
if redis.call('TYPE', k).ok ~= 'hash' then return {'missing'} end
local f = redis.call('HMGET', k, 'v', 'u', 'x', 'e', 'z')
local version = tonumber(f[1])
if not version then return {'missing'} end
local ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3])
local expires = tonumber(f[4])
if expires and expires <= now then return {'missing'} end
local owner, promise = f[2], tonumber(f[3]) or 0
if ARGV[5] == '1' then
  if owner ~= ARGV[6] then promise = 0 end
  owner = ARGV[6]
elseif ARGV[5] == '0' then
  owner = false
end
if owner then
  local written = tonumber(ARGV[8])
  if ARGV[7] == owner and written > promise then promise = written end
  if promise < now + ttl + MARGIN then return {'index', owner} end
end
local size = tonumber(f[5]) or 0
local first = 10 + tonumber(ARGV[9])
for i = 10, first - 1 do
  local old = redis.call('HSTRLEN', k, ARGV[i])
  if old > 0 then size = size - #ARGV[i] - old - 2 end
end
for i = first, #ARGV, 2 do
  local old = redis.call('HSTRLEN', k, ARGV[i])
  if old > 0 then size = size - #ARGV[i] - old - 2 end
  size = size + #ARGV[i] + #ARGV[i + 1] + 2
end
if size + 1 > tonumber(ARGV[4]) then return {'large'} end
for i = 10, first - 1 do redis.call('HDEL', k, ARGV[i]) end
for i = first, #ARGV, 2 do redis.call('HSET', k, ARGV[i], ARGV[i + 1]) end
version = version + 1
redis.call('HSET', k, 'r', ARGV[1], 'e', string.format('%d', now + ttl), 'v', string.format('%d', version), 'z', string.format('%d', size))
if owner then
  redis.call('HSET', k, 'u', owner, 'x', string.format('%d', promise))
else
  redis.call('HDEL', k, 'u', 'x')
end
redis.call('PEXPIRE', k, ttl)
return {'ok', version}
`)

/**
 * Sets r, e and the ttl; never the data, never creates. ARGV: ttl ms, refreshedAt, now ms, user and
 * promise the caller just wrote into that user's index ('' and 0 = none).
 * Returns {'ok'}, {'missing'} or {'index', user}.
 */
export const TOUCH = script(`
local k = KEYS[1]
if redis.call('TYPE', k).ok ~= 'hash' or redis.call('HEXISTS', k, 'v') == 0 then return {'missing'} end
local ttl, now = tonumber(ARGV[1]), tonumber(ARGV[3])
local f = redis.call('HMGET', k, 'u', 'x', 'e')
local expires = tonumber(f[3])
if expires and expires <= now then return {'missing'} end
if f[1] then
  local promise = tonumber(f[2]) or 0
  local written = tonumber(ARGV[5])
  if ARGV[4] == f[1] and written > promise then
    promise = written
    redis.call('HSET', k, 'x', ARGV[5])
  end
  if promise < now + ttl + MARGIN then return {'index', f[1]} end
end
redis.call('HSET', k, 'r', ARGV[2], 'e', string.format('%d', now + ttl))
redis.call('PEXPIRE', k, ttl)
return {'ok'}
`)

/** KEYS[1]: a session. Returns 1 if it was there. */
export const DELETE = script(`
return redis.call('DEL', KEYS[1])
`)

/**
 * KEYS[1]: a user's index (sorted set: id -> promise ms). ARGV: id, promise ms, now ms.
 * Raises the id's promise (never lowers it), drops entries whose promise ran out, and keeps the
 * key alive as long as its longest promise.
 */
export const INDEX = script(`
local k = KEYS[1]
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', k, '-inf', string.format('(%d', now - MARGIN))
local old = redis.call('ZSCORE', k, ARGV[1])
if not old or tonumber(old) < tonumber(ARGV[2]) then redis.call('ZADD', k, ARGV[2], ARGV[1]) end
local last = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', k, string.format('%d', tonumber(last[2]) - now + MARGIN))
return 1
`)

/**
 * KEYS[1]: a user's index; ARGV: now ms. Ids whose promise has not run out. They may include
 * ended or rebound sessions: the caller checks each one in its own slot (OWNED).
 */
export const LIST = script(`
local k = KEYS[1]
redis.call('ZREMRANGEBYSCORE', k, '-inf', string.format('(%d', tonumber(ARGV[1]) - MARGIN))
return redis.call('ZRANGE', k, 0, -1)
`)

/**
 * KEYS[1]: a session; ARGV: user, '1' to delete it, now ms. Returns 1 when the session is live
 * and bound to user (and was deleted, if asked). Entries are never removed from the index here: a
 * session being bound right now is listed before it is written, and must stay listed.
 */
export const OWNED = script(`
local k = KEYS[1]
if redis.call('TYPE', k).ok ~= 'hash' then return 0 end
local f = redis.call('HMGET', k, 'u', 'e')
local expires = tonumber(f[2])
if f[1] ~= ARGV[1] or (expires and expires <= tonumber(ARGV[3])) then return 0 end
if ARGV[2] == '1' then redis.call('DEL', k) end
return 1
`)
