import { SessionError, SessionErrorCode } from './errors.js'
import { checkDataSize, readMaxDataSize } from './internal/data-size.js'
import { isSessionId } from './internal/ids.js'
import {
  freezeRecord,
  type PeekableStore,
  type RevocationStore,
  type SessionStore,
  type StoredSession,
  type StoreSetOptions,
} from './store.js'

export interface MemoryStoreOptions {
  /**
   * Most sessions kept. Past it, sessions never bound to a user go first (least recently
   * written first), so anonymous traffic cannot push a signed-in user out; bound sessions go only
   * when no anonymous one is left. @default 10000
   */
  maxEntries?: number
  /**
   * Largest session data accepted, in bytes of its JSON (UTF-8); a bigger `set` rejects with
   * `ERR_SESSION_TOO_LARGE`. @default 1048576 (1 MiB)
   */
  maxDataSize?: number
  /** Current time in epoch milliseconds, for tests. @default Date.now */
  clock?: () => number
}

interface Entry {
  /** The data as JSON, so that no caller can mutate what is stored through a shared reference. */
  json: string
  createdAt: number
  refreshedAt: number
  version: number
  expiresAt: number
  user: string | undefined
  /**
   * The record `peek` answers with, made on the first read after each write or touch: parsed once
   * and deep-frozen, so a read shares it instead of parsing the JSON and copying the data again.
   */
  shared?: Readonly<StoredSession>
}

/** Expired entries looked at per write, so memory is reclaimed without a timer (Workers have none). */
const SWEEP_PER_WRITE = 4

/**
 * An in-process store, bounded in entries, with ttl eviction. For development, tests and single
 * instances: sessions are lost on restart and not shared between processes.
 */
export function memoryStore(
  options: MemoryStoreOptions = {},
): SessionStore & PeekableStore & { readonly size: number } {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `maxEntries must be a positive integer, got ${String(maxEntries)}`,
    )
  }
  const maxDataSize = readMaxDataSize(options.maxDataSize, 'memoryStore')
  const clock = options.clock ?? Date.now
  /** Every session, in write order (oldest first). */
  const entries = new Map<string, Entry>()
  /** The sessions bound to no user, in write order: evicted before any bound one (S9). */
  const anonymous = new Set<string>()
  const byUser = new Map<string, Set<string>>()

  const live = (id: string): Entry | undefined => {
    const entry = entries.get(id)
    if (entry && entry.expiresAt <= clock()) {
      remove(id)
      return undefined
    }
    return entry
  }
  const remove = (id: string) => {
    const entry = entries.get(id)
    if (!entry) return
    entries.delete(id)
    if (entry.user === undefined) {
      anonymous.delete(id)
    } else {
      const ids = byUser.get(entry.user)
      ids?.delete(id)
      if (ids?.size === 0) byUser.delete(entry.user)
    }
  }
  /** Stores `entry` as the most recently written one, keeping the per-user index in step. */
  const put = (id: string, entry: Entry) => {
    remove(id)
    entries.set(id, entry)
    if (entry.user === undefined) {
      anonymous.add(id)
    } else {
      const ids = byUser.get(entry.user) ?? new Set<string>()
      byUser.set(entry.user, ids)
      ids.add(id)
    }
    sweep()
  }
  const sweep = () => {
    let looked = 0
    const now = clock()
    for (const [id, entry] of entries) {
      if (looked++ >= SWEEP_PER_WRITE) break
      if (entry.expiresAt <= now) remove(id)
    }
    while (entries.size > maxEntries) {
      const oldest = anonymous.values().next().value ?? entries.keys().next().value
      if (oldest === undefined) break
      remove(oldest)
    }
  }
  const checkId = (id: string) => {
    if (!isSessionId(id))
      throw new SessionError(SessionErrorCode.INVALID_ID, 'not a session id issued by this library')
  }

  return {
    get size() {
      return entries.size
    },
    async get(id) {
      checkId(id)
      const entry = live(id)
      if (!entry) return undefined
      const record: StoredSession = {
        data: JSON.parse(entry.json) as Record<string, unknown>,
        createdAt: entry.createdAt,
        refreshedAt: entry.refreshedAt,
        version: entry.version,
      }
      if (entry.user !== undefined) record.user = entry.user
      return record
    },
    // A hit of a live record, in the caller's tick: what `get` would give, parsed once per write
    // and frozen (the engine copies it only when the request changes the session). A miss is left
    // to `get`, which answers it the same way every time. The memory-store read it serves cost
    // 7.4 µs of CPU against 2.3 µs for a cookie-store read (in-process, begin/load/commit, a
    // 200-byte session, Node 20 on the shared 2-core machine), most of it the parse, the copy and
    // the promises of `get`.
    peek(id: string) {
      const entry = live(id)
      if (!entry) return undefined
      if (entry.shared === undefined) {
        const record: StoredSession = {
          data: JSON.parse(entry.json) as Record<string, unknown>,
          createdAt: entry.createdAt,
          refreshedAt: entry.refreshedAt,
          version: entry.version,
        }
        if (entry.user !== undefined) record.user = entry.user
        entry.shared = freezeRecord(record)
      }
      return entry.shared
    },
    async set(id, session, opts: StoreSetOptions) {
      checkId(id)
      const json = JSON.stringify(session.data)
      checkDataSize(json, maxDataSize)
      const current = live(id)
      if (opts.expectVersion !== undefined && (current?.version ?? 0) !== opts.expectVersion)
        return 'conflict'
      put(id, {
        json,
        createdAt: session.createdAt,
        refreshedAt: session.refreshedAt,
        version: session.version,
        expiresAt: clock() + opts.ttl * 1000,
        user: session.user,
      })
      return 'ok'
    },
    // No await inside: the read, the merge and the write are one synchronous step, so requests
    // of one session that write at once each keep their keys.
    async apply(id, change, opts) {
      checkId(id)
      const entry = live(id)
      if (!entry) return undefined
      const data = JSON.parse(entry.json) as Record<string, unknown>
      for (const key of change.remove) delete data[key]
      for (const key of Object.keys(change.set)) {
        if (key === '__proto__')
          Object.defineProperty(data, key, {
            value: change.set[key],
            writable: true,
            enumerable: true,
            configurable: true,
          })
        else data[key] = change.set[key]
      }
      const json = JSON.stringify(data)
      checkDataSize(json, maxDataSize)
      put(id, {
        json,
        createdAt: entry.createdAt,
        refreshedAt: change.refreshedAt,
        version: entry.version + 1,
        expiresAt: clock() + opts.ttl * 1000,
        user: change.bind ? change.bind.user : entry.user,
      })
      return entry.version + 1
    },
    async delete(id) {
      checkId(id)
      remove(id)
    },
    async touch(id, ttl, refreshedAt) {
      checkId(id)
      const entry = live(id)
      if (!entry) return
      entry.expiresAt = clock() + ttl * 1000
      entry.refreshedAt = refreshedAt
      entry.shared = undefined
    },
    async listByUser(user) {
      const ids = byUser.get(user)
      if (!ids) return []
      return [...ids].filter((id) => live(id) !== undefined)
    },
    async deleteByUser(user) {
      const ids = [...(byUser.get(user) ?? [])].filter((id) => live(id) !== undefined)
      for (const id of ids) remove(id)
      return ids.length
    },
  }
}

export interface MemoryRevocationsOptions {
  /**
   * Most unexpired revocations kept. At the bound, expired ones are dropped first; if none has
   * expired, `set` rejects with `ERR_SESSION_REVOCATIONS_FULL` (so `endUserSessions` rejects and
   * the caller learns the logout did not take) and every revocation already kept stays. About
   * 100 bytes each. @default 100000
   */
  maxEntries?: number
  /** Current time in epoch milliseconds, for tests. @default Date.now */
  clock?: () => number
}

/**
 * In-process revocations (`endUserSessions` and `destroy()` with the cookie store): they reach
 * the sessions this process checks, and no other instance. Use a shared store (`redisRevocations`
 * from `@x/session-redis`) when several instances serve one app.
 */
export function memoryRevocations(options: MemoryRevocationsOptions = {}): RevocationStore {
  const clock = options.clock ?? Date.now
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `memoryRevocations: maxEntries must be a positive integer, got ${String(maxEntries)}`,
    )
  }
  const entries = new Map<string, { notBefore: number; expiresAt: number }>()
  const dropExpired = (now: number) => {
    for (const [subject, entry] of entries) if (entry.expiresAt <= now) entries.delete(subject)
  }
  return {
    async get(subjects) {
      const now = clock()
      return subjects.map((subject) => {
        const entry = entries.get(subject)
        if (!entry) return undefined
        if (entry.expiresAt <= now) {
          entries.delete(subject)
          return undefined
        }
        return entry.notBefore
      })
    },
    async set(subject, notBefore, ttl) {
      const now = clock()
      const expiresAt = now + ttl * 1000
      const kept = entries.get(subject)
      if (kept && kept.expiresAt > now) {
        kept.notBefore = Math.max(notBefore, kept.notBefore)
        kept.expiresAt = Math.max(expiresAt, kept.expiresAt)
        return
      }
      // A full scan, only at the bound: forgetting an unexpired revocation would revive sessions.
      if (entries.size >= maxEntries) dropExpired(now)
      if (entries.size >= maxEntries) {
        throw new SessionError(
          SessionErrorCode.REVOCATIONS_FULL,
          `memoryRevocations: ${maxEntries} unexpired revocations are kept, none can be dropped; this one was not kept (raise maxEntries, or use a shared revocation store)`,
          { status: 503 },
        )
      }
      entries.set(subject, { notBefore, expiresAt })
    },
  }
}
