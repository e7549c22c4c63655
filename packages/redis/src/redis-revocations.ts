import { type RevocationStore, SessionError, SessionErrorCode } from '@x/session-core'
import { type RedisClientLike, scriptRunner } from './internal/client.js'
import { checkPrefix, revocationKey } from './internal/keys.js'
import { REVOCATION_GET, REVOCATION_SET } from './internal/revocation-scripts.js'

export interface RedisRevocationsOptions {
  /**
   * A connected client: node-redis `createClient()` / `createCluster()` (v4 or v5), or an ioredis
   * `Redis` / `Cluster`; the same one a `redisStore` uses is fine. Never connected or closed here.
   */
  client: RedisClientLike
  /** Prepended to every key; must not contain `{` or `}`. @default 'sess:revoked:' */
  prefix?: string
  /**
   * Current time in epoch milliseconds. Revocations expire by it as well as by Redis' own ttl, so
   * a test that moves the session manager's clock sees them expire. @default Date.now
   */
  clock?: () => number
}

export const redisRevocationsDefaults = Object.freeze({
  prefix: 'sess:revoked:',
})

/**
 * Longest subject accepted (`u:` plus core's 256-character user id, or `s:` plus a session id),
 * with room to spare, so no caller can make unbounded keys.
 */
const MAX_SUBJECT_LENGTH = 1100
/** A lone surrogate would be encoded as U+FFFD, so two different subjects could share one key. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * A shared `RevocationStore` in Redis or Valkey: `endUserSessions(user)` and `destroy()` on the
 * cookie store then end sessions on every instance that uses the same Redis and prefix. Each
 * subject is one key in its own Cluster slot, written by one script that never lowers a kept time
 * nor shortens its ttl; entries expire with Redis' own ttl, so nothing here ever evicts one early.
 */
export function redisRevocations(options: RedisRevocationsOptions): RevocationStore {
  if (options === null || typeof options !== 'object') {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      'redisRevocations() needs an options object: redisRevocations({ client })',
    )
  }
  const redis = scriptRunner(options.client)
  const prefix = options.prefix ?? redisRevocationsDefaults.prefix
  checkPrefix(prefix)
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function')
    throw new SessionError(SessionErrorCode.INVALID_OPTION, 'redisRevocations: `clock` must be a function')

  return {
    async get(subjects) {
      for (const subject of subjects) checkSubject(subject)
      const now = clock()
      // Sent together: node-redis and ioredis write them in one go (on a Cluster, to each slot's
      // node at once), so a request with a user and a session subject waits one round trip.
      const replies = await Promise.all(
        subjects.map((subject) => redis.run(REVOCATION_GET, revocationKey(prefix, subject), [])),
      )
      return replies.map((reply) => {
        if (!Array.isArray(reply)) return undefined
        const notBefore = integer(reply[0])
        const expiresAt = integer(reply[1])
        if (notBefore === undefined || expiresAt === undefined || expiresAt <= now) return undefined
        return notBefore
      })
    },
    async set(subject, notBefore, ttl) {
      checkSubject(subject)
      if (!Number.isSafeInteger(notBefore))
        invalid(`notBefore must be an integer (epoch ms), got ${String(notBefore)}`)
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
        invalid(`ttl must be a positive number of seconds, got ${String(ttl)}`)
      await redis.run(REVOCATION_SET, revocationKey(prefix, subject), [
        String(notBefore),
        String(Math.ceil(ttl * 1000)),
        String(clock()),
      ])
    },
  }
}

function checkSubject(subject: unknown): asserts subject is string {
  if (
    typeof subject !== 'string' ||
    subject.length === 0 ||
    subject.length > MAX_SUBJECT_LENGTH ||
    LONE_SURROGATE.test(subject)
  ) {
    invalid(`a revocation subject must be a well-formed string of 1 to ${MAX_SUBJECT_LENGTH} characters`)
  }
}

function invalid(message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, `redisRevocations: ${message}`)
}

const decoder = new TextDecoder()

function integer(value: unknown): number | undefined {
  const text =
    typeof value === 'string' ? value : value instanceof Uint8Array ? decoder.decode(value) : undefined
  if (text === undefined || !/^-?\d{1,16}$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}
