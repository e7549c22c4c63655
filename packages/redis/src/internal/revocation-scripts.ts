import { createHash } from 'node:crypto'
import type { Script } from './scripts.js'

/*
 * A revocation is one hash per subject: n = notBefore (epoch ms), e = expiry (epoch ms, by the
 * store's clock). Redis' own ttl removes the key at about `e`; a read past `e` is treated as gone,
 * so a test clock moves expiry without waiting, as for sessions.
 */

function script(source: string): Script {
  const text = source.trim()
  return Object.freeze({ source: text, sha1: createHash('sha1').update(text).digest('hex') })
}

/** Returns {n, e} (nil where missing), or 0 when the key holds another type. */
export const REVOCATION_GET = script(`
local f = redis.pcall('HMGET', KEYS[1], 'n', 'e')
if f.err then return 0 end
return f
`)

/**
 * ARGV: notBefore ms, ttl ms, now ms. Raises n and e, never lowers either, in one step: two
 * concurrent logouts cannot leave the lower time behind. A kept entry past its e is replaced.
 */
export const REVOCATION_SET = script(`
local k = KEYS[1]
local n, ttl, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local e = now + ttl
if redis.call('TYPE', k).ok == 'hash' then
  local f = redis.call('HMGET', k, 'n', 'e')
  local kn, ke = tonumber(f[1]), tonumber(f[2])
  if kn and ke and ke > now then
    if kn > n then n = kn end
    if ke > e then e = ke end
  end
else
  redis.call('DEL', k)
end
redis.call('HSET', k, 'n', string.format('%d', n), 'e', string.format('%d', e))
redis.call('PEXPIRE', k, e - now)
return 1
`)
