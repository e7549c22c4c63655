import {
  DEFAULT_MAX_DATA_SIZE,
  freezeRecord,
  isSessionId,
  type PeekableStore,
  type SessionChange,
  SessionError,
  SessionErrorCode,
  type SessionStore,
  type StoredSession,
  type StoreSetOptions,
} from '@x/session-core'
import { type RedisClientLike, scriptRunner } from './internal/client.js'
import { checkPrefix, checkUser, sessionKey, userKey } from './internal/keys.js'
import { APPLY, CLOCK_MARGIN_MS, DELETE, GET, INDEX, LIST, OWNED, SET, TOUCH } from './internal/scripts.js'
import { dropOnWrite, type LoadedRecord, type NearCacheOptions, nearCache } from './near-cache.js'

/** Why a stored record was treated as missing. */
export type CorruptReason =
  /** The key holds another Redis type than a hash (another program wrote it). */
  | 'wrong-type'
  /** The data field is not JSON, or not a JSON object. */
  | 'bad-data'
  /** A field other than the data is missing or not an integer. */
  | 'bad-fields'

/** Telemetry. Never carries a session id, a user or session data, so it can be logged as it is. */
export type RedisStoreEvent =
  | { type: 'corrupt'; reason: CorruptReason }
  /** The near cache's invalidations are flowing ('tracking'), or may be missed ('lost': bypassed). */
  | { type: 'near-cache'; state: 'tracking' | 'lost' }

export interface RedisStoreOptions {
  /**
   * A connected client: node-redis `createClient()` / `createCluster()` (v4 or v5), or an ioredis
   * `Redis` / `Cluster`. The store never connects, closes or reconfigures it; see the README for
   * the options that make a down Redis fail fast instead of queueing requests.
   */
  client: RedisClientLike
  /** Prepended to every key; must not contain `{` or `}`. @default 'sess:' */
  prefix?: string
  /**
   * Current time in epoch milliseconds. Records expire by it as well as by Redis' own ttl, so a
   * test that moves the session manager's clock (the adapter conformance suite) sees them expire.
   * @default Date.now
   */
  clock?: () => number
  /**
   * Called when a stored record cannot be read; the session is then treated as missing (the
   * record is left alone: it may come from a newer version of this package).
   * @default a `console.warn` naming the reason
   */
  onEvent?: (event: RedisStoreEvent) => void
  /**
   * Largest session data accepted, in bytes of its JSON (UTF-8); a bigger save rejects with
   * `ERR_SESSION_TOO_LARGE` and writes nothing. @default 1048576 (1 MiB)
   */
  maxDataSize?: number
  /**
   * Keeps recently read sessions in this process, invalidated by Redis itself (client-side
   * caching, `CLIENT TRACKING` in broadcast mode on a connection of the store's own, made with
   * the client's `duplicate()`), so a read of an unchanged session needs no round trip. A copy
   * is served only while that connection is known to be tracking. Standalone and Sentinel only.
   * @default undefined (off)
   */
  nearCache?: NearCacheOptions | true
}

export const redisStoreDefaults = Object.freeze({
  prefix: 'sess:',
  maxDataSize: DEFAULT_MAX_DATA_SIZE,
})

/**
 * A `SessionStore` with the per-user index and `apply`: everything `createSessionManager({ store })`
 * can use.
 */
export type RedisSessionStore = Required<Omit<SessionStore, 'unsupported'>> & {
  /** Present with `nearCache: { strict: false }` only: see `PeekableStore`. */
  peek?: PeekableStore['peek']
}

/** Attempts of a save or touch: the first, and one more after extending the user's index. */
const INDEX_ATTEMPTS = 2

/**
 * A Redis or Valkey session store for standalone servers, Sentinel and Cluster. One script per
 * load and per save; a request's changes merged by the script itself, so parallel requests of one
 * session never conflict; ttl kept by Redis itself; a per-user index for "log out
 * everywhere" whose keys never share a script with another slot.
 */
export function redisStore(options: RedisStoreOptions): RedisSessionStore {
  if (options === null || typeof options !== 'object') {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      'redisStore() needs an options object: redisStore({ client })',
    )
  }
  const redis = scriptRunner(options.client)
  const prefix = options.prefix ?? redisStoreDefaults.prefix
  checkPrefix(prefix)
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function')
    throw new SessionError(SessionErrorCode.INVALID_OPTION, 'redisStore: `clock` must be a function')
  const maxDataSize = options.maxDataSize ?? redisStoreDefaults.maxDataSize
  if (!Number.isSafeInteger(maxDataSize) || maxDataSize < 2)
    invalid(`maxDataSize must be a whole number of bytes of at least 2, got ${String(maxDataSize)}`)
  const onEvent = options.onEvent ?? warn
  if (typeof onEvent !== 'function')
    throw new SessionError(SessionErrorCode.INVALID_OPTION, 'redisStore: `onEvent` must be a function')

  const corrupt = (reason: CorruptReason): undefined => {
    try {
      onEvent({ type: 'corrupt', reason })
    } catch {
      // Telemetry must not turn a readable "missing" into a failed request.
    }
    return undefined
  }

  /** The record as Redis holds it, its data not yet parsed; undefined when missing or unreadable. */
  const load = async (id: string): Promise<LoadedRecord | undefined> => {
    const reply = await redis.run(GET, sessionKey(prefix, id), [])
    if (!Array.isArray(reply)) return corrupt('wrong-type')
    if (reply.length === 0) return undefined
    const fields = readFields(reply)
    const createdAt = integer(fields.c)
    const refreshedAt = integer(fields.r)
    const version = integer(fields.v)
    const expiresAt = fields.e === undefined ? Number.POSITIVE_INFINITY : integer(fields.e)
    if (
      createdAt === undefined ||
      refreshedAt === undefined ||
      version === undefined ||
      expiresAt === undefined
    )
      return corrupt('bad-fields')
    const record: LoadedRecord = {
      createdAt,
      refreshedAt,
      version,
      expiresAt,
      json: fields.d ?? '',
    }
    if (fields.u !== undefined) record.user = fields.u
    return record
  }
  const cache =
    options.nearCache === undefined
      ? undefined
      : nearCache(options.nearCache, {
          client: options.client,
          prefix,
          clock,
          onState: (state) => onEvent({ type: 'near-cache', state }),
        })

  /** Makes `user`'s index keep `id` until `promise`; must happen before the session says so. */
  const extendIndex = (user: string, id: string, promise: number, now: number) =>
    redis.run(INDEX, userKey(prefix, user), [id, String(promise), String(now)])

  const store: RedisSessionStore = {
    async get(id) {
      checkId(id)
      const loaded = await (cache ? cache.get(id, load) : load(id))
      if (!loaded || loaded.expiresAt <= clock()) return undefined
      return storedSession(loaded) ?? corrupt('bad-data')
    },

    async set(id, session, opts: StoreSetOptions) {
      checkId(id)
      const ttl = ttlMs(opts.ttl)
      const expected = opts.expectVersion
      if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
        invalid(`expectVersion must be a non-negative integer, got ${String(expected)}`)
      }
      for (const field of ['version', 'createdAt', 'refreshedAt'] as const) {
        if (!Number.isSafeInteger(session[field]))
          invalid(`session.${field} must be an integer, got ${String(session[field])}`)
      }
      const user = session.user
      if (user !== undefined) checkUser(user)
      const { pairs, size } = dataFields(session.data, maxDataSize)
      const now = clock()
      let promise = 0
      for (let attempt = 1; ; attempt++) {
        const reply = text(
          await redis.run(SET, sessionKey(prefix, id), [
            expected === undefined ? '' : String(expected),
            String(session.version),
            String(session.createdAt),
            String(session.refreshedAt),
            user ?? '',
            String(ttl),
            String(now),
            String(promise),
            String(size),
            ...pairs,
          ]),
        )
        if (reply === 'ok' || reply === 'conflict') return reply
        if (reply !== 'index' || user === undefined || attempt >= INDEX_ATTEMPTS) throw unexpected(reply)
        promise = indexPromise(now, ttl)
        await extendIndex(user, id, promise, now)
      }
    },

    async apply(id, change: SessionChange, opts) {
      checkId(id)
      const ms = ttlMs(opts.ttl)
      if (!Number.isSafeInteger(change.refreshedAt))
        invalid(`refreshedAt must be an integer, got ${String(change.refreshedAt)}`)
      const bind = change.bind
      if (bind?.user !== undefined) checkUser(bind.user)
      const { pairs } = dataFields(change.set, maxDataSize)
      const removed = change.remove.map((key) => JSON.stringify(String(key)))
      const now = clock()
      let indexUser = ''
      let promise = 0
      // A third attempt only happens when the session was rebound to another user meanwhile.
      for (let attempt = 1; ; attempt++) {
        const reply = await redis.run(APPLY, sessionKey(prefix, id), [
          String(change.refreshedAt),
          String(ms),
          String(now),
          String(maxDataSize),
          bind === undefined ? '' : bind.user === undefined ? '0' : '1',
          bind?.user ?? '',
          indexUser,
          String(promise),
          String(removed.length),
          ...removed,
          ...pairs,
        ])
        const [status, detail] = Array.isArray(reply) ? reply.map(text) : []
        if (status === 'ok') {
          const version = integer(detail)
          if (version === undefined) throw unexpected(detail)
          return version
        }
        if (status === 'missing') return undefined
        if (status === 'large') throw dataTooLarge(maxDataSize)
        if (status !== 'index' || detail === undefined || attempt > INDEX_ATTEMPTS) throw unexpected(status)
        indexUser = detail
        promise = indexPromise(now, ms)
        await extendIndex(indexUser, id, promise, now)
      }
    },

    async delete(id) {
      checkId(id)
      await redis.run(DELETE, sessionKey(prefix, id), [])
    },

    async touch(id, ttl, refreshedAt) {
      checkId(id)
      const ms = ttlMs(ttl)
      if (!Number.isSafeInteger(refreshedAt))
        invalid(`refreshedAt must be an integer, got ${String(refreshedAt)}`)
      const now = clock()
      let user = ''
      let promise = 0
      // A third attempt only happens when the session was rebound to another user meanwhile.
      for (let attempt = 1; ; attempt++) {
        const reply = await redis.run(TOUCH, sessionKey(prefix, id), [
          String(ms),
          String(refreshedAt),
          String(now),
          user,
          String(promise),
        ])
        const [status, owner] = Array.isArray(reply) ? reply.map(text) : []
        if (status === 'ok' || status === 'missing') return
        if (status !== 'index' || owner === undefined || attempt > INDEX_ATTEMPTS) throw unexpected(status)
        user = owner
        promise = indexPromise(now, ms)
        await extendIndex(user, id, promise, now)
      }
    },

    async listByUser(user) {
      checkUser(user)
      return owned(user, false)
    },

    async deleteByUser(user) {
      checkUser(user)
      return (await owned(user, true)).length
    },
  }
  if (!cache) return store
  // With `nearCache: { strict: false }`, a copy held here is answered in the request's own tick,
  // as the memory store answers: parsed once per copy and frozen, not parsed per read. The engine
  // then loads the session with no promise; everything else goes through `get`. Other stores have
  // no `peek`, so their requests make no call that could only answer `undefined`.
  if (!cache.strict) {
    store.peek = (id) => {
      const entry = cache.peek(id)
      if (entry === undefined) return undefined
      if (entry.shared === undefined) {
        const record = storedSession(entry.record)
        entry.shared = record ? freezeRecord(record) : null
      }
      return entry.shared ?? undefined
    }
  }
  return dropOnWrite(store, cache)

  /** The ids the user's index names that are live and still bound to `user` (deleted, if asked). */
  async function owned(user: string, remove: boolean): Promise<string[]> {
    const now = String(clock())
    const reply = await redis.run(LIST, userKey(prefix, user), [now])
    // A tampered index must not smuggle a key of another shape into the commands below.
    const candidates = (Array.isArray(reply) ? reply.map(text) : []).filter(isSessionId)
    // One script per session, in its own slot; sent together, so the client pipelines them.
    const hits = await Promise.all(
      candidates.map((id) => redis.run(OWNED, sessionKey(prefix, id), [user, remove ? '1' : '0', now])),
    )
    return candidates.filter((_, i) => Number(hits[i]) === 1)
  }
}

/**
 * How long the index is asked to keep a session: twice its ttl, so a session that is saved or
 * touched regularly costs one index write per ttl, not one per request.
 */
function indexPromise(now: number, ttl: number): number {
  return now + 2 * ttl + 2 * CLOCK_MARGIN_MS
}

function checkId(id: unknown): void {
  if (!isSessionId(id))
    throw new SessionError(SessionErrorCode.INVALID_ID, 'not a session id issued by this library')
}

function invalid(message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, `redisStore: ${message}`)
}

function ttlMs(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
    invalid(`ttl must be a positive number of seconds, got ${String(ttl)}`)
  return Math.ceil(ttl * 1000)
}

/**
 * The data as hash fields: each top-level key's JSON name and its value's JSON, flat, and their
 * size as the scripts count it (the data's JSON is size + 1 bytes). Refuses data over `limit`
 * here already, before it is sent.
 */
function dataFields(data: unknown, limit: number): { pairs: string[]; size: number } {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    invalid('session.data must be a plain object')
  const pairs: string[] = []
  let size = 0
  try {
    for (const key of Object.keys(data)) {
      const value = JSON.stringify((data as Record<string, unknown>)[key])
      // As JSON.stringify leaves out an undefined or a function.
      if (value === undefined) continue
      const name = JSON.stringify(key)
      pairs.push(name, value)
      size += Buffer.byteLength(name) + Buffer.byteLength(value) + 2
    }
  } catch (cause) {
    throw new SessionError(
      SessionErrorCode.NOT_SERIALIZABLE,
      'session data must be JSON-serializable (no BigInt, no cycles)',
      { cause },
    )
  }
  if (size + 1 > limit) throw dataTooLarge(limit)
  return { pairs, size }
}

function dataTooLarge(limit: number): SessionError {
  return new SessionError(
    SessionErrorCode.TOO_LARGE,
    `session data is larger than the store's maxDataSize (${limit} bytes of JSON): keep large data elsewhere and store a reference`,
  )
}

interface Fields {
  c?: string
  r?: string
  v?: string
  u?: string
  e?: string
  /** The data's JSON, as the GET script joined it from the data fields. */
  d?: string
}

/** The fields of a GET reply (flat name, value pairs) that this version reads. */
function readFields(reply: unknown[]): Fields {
  const fields: Fields = {}
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const name = text(reply[i])
    if (name === 'c' || name === 'r' || name === 'v' || name === 'u' || name === 'e' || name === 'd')
      fields[name] = text(reply[i + 1]) ?? ''
  }
  return fields
}

function unexpected(reply: unknown): Error {
  return new Error(`@x/session-redis: unexpected script reply ${JSON.stringify(String(reply))}`)
}

const decoder = new TextDecoder()

/** Replies are strings by default; clients configured to return Buffers give bytes. */
function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return decoder.decode(value)
  return String(value)
}

function integer(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d{1,16}$/.test(value)) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : undefined
}

/** The record `get` answers with: its data parsed anew, or `undefined` when that is not an object. */
function storedSession(loaded: LoadedRecord): StoredSession | undefined {
  const data = parseObject(loaded.json)
  if (!data) return undefined
  const { createdAt, refreshedAt, version, user } = loaded
  const record: StoredSession = { data, createdAt, refreshedAt, version }
  if (user !== undefined) record.user = user
  return record
}

function parseObject(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function warn(event: RedisStoreEvent): void {
  if (event.type !== 'corrupt') return
  console.warn(
    `@x/session-redis: a stored session could not be read (${event.reason}); it is treated as missing`,
  )
}
