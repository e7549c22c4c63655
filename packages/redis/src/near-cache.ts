import { SessionError, SessionErrorCode, type SessionStore, type StoredSession } from '@x/session-core'
import { startTracking, type Tracking } from './internal/tracking.js'

/** `redisStore({ nearCache })`: a per-process copy of recently read sessions, kept true by Redis. */
export interface NearCacheOptions {
  /** Most sessions kept; the least recently read is dropped first. @default 10000 */
  max?: number
  /**
   * Longest time a copy is served, in seconds, whatever Redis says; never beyond the session's
   * own expiry. It bounds what a failure the heartbeat has not noticed yet could cost.
   * @default 30
   */
  ttl?: number
  /**
   * How often the tracking connection is checked, in seconds: without an answer within this
   * time it is treated as lost, and the cache is emptied and bypassed until it is back.
   * @default 1
   */
  heartbeat?: number
  /**
   * Before a copy is served, wait until every invalidation Redis had queued for this process has
   * arrived (one PING on the tracking connection, shared by the reads waiting at that moment). A
   * change whose response went out before a request started is then never missed, whatever the
   * network does; without it such a request may, for as long as the invalidation takes to arrive
   * (measured: see the README), still get the old record.
   * @default true
   */
  strict?: boolean
}

export const nearCacheDefaults = Object.freeze({ max: 10_000, ttl: 30, heartbeat: 1, strict: true })

/** A record as read from Redis, before its data is parsed. */
export interface LoadedRecord {
  createdAt: number
  refreshedAt: number
  version: number
  user?: string
  /** Epoch ms by the store's clock; `Infinity` when the record has none. */
  expiresAt: number
  /** The data's JSON: parsed anew for every read, so no request can change another's copy. */
  json: string
}

export interface Entry {
  record: LoadedRecord
  /** Epoch ms (store clock) after which this copy is not served. */
  until: number
  /** The cache's use count when this entry was last put at the young end. */
  placed: number
  /**
   * The record `peek` answers with, parsed and frozen on the first peek; `null` when its data is
   * unreadable (left to `get`, which reports it).
   */
  shared?: Readonly<StoredSession> | null
}

/** A read in flight: its answer is kept only if nothing about its key changed meanwhile. */
interface Ticket {
  stale: boolean
  epoch: number
}

export type NearCacheState = 'tracking' | 'lost'

export interface NearCacheConfig {
  client: unknown
  prefix: string
  clock: () => number
  onState: (state: NearCacheState) => void
}

/**
 * Checks the option. A copy is served only while Redis' invalidations are known to reach this
 * process; a read's answer is kept only if no invalidation of its key (and no gap in tracking)
 * came between the read's start and its end, since the invalidation travels on another connection
 * and may overtake the reply it makes stale.
 */
export function nearCache(options: NearCacheOptions | true, config: NearCacheConfig): NearCache {
  const o = options === true ? {} : options
  if (o === null || typeof o !== 'object') invalid('`nearCache` must be true or { max?, ttl?, heartbeat? }')
  const max = o.max ?? nearCacheDefaults.max
  if (!Number.isSafeInteger(max) || max < 1)
    invalid(`nearCache.max must be a whole number of at least 1, got ${String(max)}`)
  const ttl = o.ttl ?? nearCacheDefaults.ttl
  if (typeof ttl !== 'number' || !(ttl > 0) || !Number.isFinite(ttl))
    invalid(`nearCache.ttl must be a positive number of seconds, got ${String(ttl)}`)
  const heartbeat = o.heartbeat ?? nearCacheDefaults.heartbeat
  if (typeof heartbeat !== 'number' || !(heartbeat > 0) || !Number.isFinite(heartbeat))
    invalid(`nearCache.heartbeat must be a positive number of seconds, got ${String(heartbeat)}`)
  const strict = o.strict ?? nearCacheDefaults.strict
  if (typeof strict !== 'boolean') invalid(`nearCache.strict must be true or false, got ${String(strict)}`)
  return new NearCache(max, ttl * 1000, heartbeat * 1000, strict, config)
}

export class NearCache {
  readonly #entries = new Map<string, Entry>()
  readonly #reads = new Map<string, Set<Ticket>>()
  readonly #max: number
  readonly #ttlMs: number
  readonly #config: NearCacheConfig
  readonly #tracking: Tracking
  readonly #strict: boolean
  #epoch = 0
  #healthy = false
  #uses = 0

  constructor(max: number, ttlMs: number, heartbeatMs: number, strict: boolean, config: NearCacheConfig) {
    this.#strict = strict
    this.#max = max
    this.#ttlMs = ttlMs
    this.#config = config
    this.#tracking = startTracking(
      config.client,
      { prefix: config.prefix, heartbeatMs },
      {
        invalidate: (keys) => (keys ? this.#invalidateKeys(keys) : this.flush()),
        up: () => this.#setHealthy(true),
        down: () => this.#setHealthy(false),
      },
    )
  }

  /** The record of `id`: this process's copy when it may be trusted, else `read(id)`. */
  async get(
    id: string,
    read: (id: string) => Promise<LoadedRecord | undefined>,
  ): Promise<LoadedRecord | undefined> {
    if (!this.#healthy) return read(id)
    const entry = this.#live(id)
    // Whatever invalidated the copy meanwhile removed it: only the same entry, still there, is served.
    if (entry && (!this.#strict || ((await this.#tracking.sync()) && this.#entries.get(id) === entry)))
      return entry.record
    const ticket: Ticket = { stale: false, epoch: this.#epoch }
    let reads = this.#reads.get(id)
    if (!reads) {
      reads = new Set()
      this.#reads.set(id, reads)
    }
    reads.add(ticket)
    try {
      const record = await read(id)
      if (record && !ticket.stale && ticket.epoch === this.#epoch && this.#healthy) {
        const until = Math.min(this.#config.clock() + this.#ttlMs, record.expiresAt)
        this.#entries.set(id, { record, until, placed: ++this.#uses })
        if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
      }
      return record
    } finally {
      reads.delete(ticket)
      if (reads.size === 0 && this.#reads.get(id) === reads) this.#reads.delete(id)
    }
  }

  /**
   * The copy of `id`, in the caller's tick, when one may be served without waiting: only with
   * `strict: false` (a strict read waits for a PING), while tracking, and while both the copy and
   * the record are live. Anything else is `undefined`, and the read goes through `get`.
   */
  peek(id: string): Entry | undefined {
    // Copies are held only while tracking (a gap empties them), and `until` is never past the
    // record's own expiry.
    return this.#strict ? undefined : this.#live(id)
  }

  /** The copy of `id` while it may be served, counted as read; an outlived one is dropped. */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (entry.until <= this.#config.clock()) {
      this.#entries.delete(id)
      return undefined
    }
    // A Map iterates in insertion order, so the first key is the least recently put back. A hit
    // puts its entry back only once it has aged into the older half: a session read on every
    // request then costs no Map writes, and eviction stays least-recently-read enough.
    if (++this.#uses - entry.placed > this.#max >> 1) {
      entry.placed = this.#uses
      this.#entries.delete(id)
      this.#entries.set(id, entry)
    }
    return entry
  }

  /** Forgets `id`, and any answer about it still on its way. */
  drop(id: string): void {
    this.#entries.delete(id)
    const reads = this.#reads.get(id)
    if (reads) for (const ticket of reads) ticket.stale = true
  }

  /** Forgets the copies of every session bound to `user`, and every answer on its way. */
  dropUser(user: string): void {
    for (const [id, entry] of this.#entries) if (entry.record.user === user) this.#entries.delete(id)
    // A read in flight may be of a session just bound to `user`: its answer is not kept.
    this.#epoch++
  }

  /** Forgets everything. */
  flush(): void {
    this.#entries.clear()
    this.#epoch++
  }

  /** Whether a copy is served only after a PING (`nearCache.strict`). */
  get strict(): boolean {
    return this.#strict
  }

  /** Copies held now (for tests and telemetry). */
  get size(): number {
    return this.#entries.size
  }

  close(): Promise<void> {
    this.flush()
    this.#healthy = false
    return this.#tracking.close()
  }

  #invalidateKeys(keys: string[]): void {
    const { prefix } = this.#config
    for (const key of keys) {
      // A session's key is `${prefix}{${id}}`; index keys (`${prefix}user:{...}`) hold no copy.
      if (
        key.length > prefix.length + 2 &&
        key.startsWith(prefix) &&
        key[prefix.length] === '{' &&
        key.endsWith('}')
      )
        this.drop(key.slice(prefix.length + 1, -1))
    }
  }

  #setHealthy(healthy: boolean): void {
    // Whatever was kept before a gap may have changed during it; nothing read before is trusted.
    this.flush()
    this.#healthy = healthy
    try {
      this.#config.onState(healthy ? 'tracking' : 'lost')
    } catch {
      // Telemetry must not stop the cache from recovering.
    }
  }
}

type Writes = Pick<SessionStore, 'set' | 'delete'> &
  Required<Pick<SessionStore, 'apply' | 'touch' | 'deleteByUser'>>

/**
 * The store's writes, each dropping this process's copy of what it changes before it is sent and
 * again once it is answered: a read that started before the write and is answered after it, by
 * another connection, must not put the old record back. Redis' own invalidation of the key
 * follows, but this process need not wait for it to read its own writes.
 */
export function dropOnWrite<T extends Writes>(store: T, cache: NearCache): T {
  const around = async <R>(id: string, write: () => Promise<R>): Promise<R> => {
    cache.drop(id)
    try {
      return await write()
    } finally {
      cache.drop(id)
    }
  }
  return {
    ...store,
    set: (id, session, opts) => around(id, () => store.set(id, session, opts)),
    apply: (id, change, opts) => around(id, () => store.apply(id, change, opts)),
    delete: (id) => around(id, () => store.delete(id)),
    touch: (id, ttl, refreshedAt) => around(id, () => store.touch(id, ttl, refreshedAt)),
    async deleteByUser(user) {
      cache.dropUser(user)
      try {
        return await store.deleteByUser(user)
      } finally {
        cache.dropUser(user)
      }
    },
  }
}

function invalid(message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, `redisStore: ${message}`)
}
