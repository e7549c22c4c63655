import { SessionError, SessionErrorCode } from './errors.js'
import { isSessionId } from './internal/ids.js'
import type { RevocationStore, SessionStore, StoredSession, StoreSetOptions } from './store.js'

export interface MemoryStoreOptions {
  /** Most sessions kept; past it the least recently written are dropped. @default 10000 */
  maxEntries?: number
  /** Current time in epoch milliseconds, for tests. @default Date.now */
  clock?: () => number
}

interface Entry {
  /** Serialized, so that no caller can mutate what is stored through a shared reference. */
  json: string
  version: number
  expiresAt: number
  user: string | undefined
}

/** Expired entries looked at per write, so memory is reclaimed without a timer (Workers have none). */
const SWEEP_PER_WRITE = 4

/**
 * An in-process store, bounded in entries, with ttl eviction. For development, tests and single
 * instances: sessions are lost on restart and not shared between processes.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore & { readonly size: number } {
  const maxEntries = options.maxEntries ?? 10_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `maxEntries must be a positive integer, got ${String(maxEntries)}`,
    )
  }
  const clock = options.clock ?? Date.now
  const entries = new Map<string, Entry>()
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
    if (entry.user !== undefined) {
      const ids = byUser.get(entry.user)
      ids?.delete(id)
      if (ids?.size === 0) byUser.delete(entry.user)
    }
  }
  const sweep = () => {
    let looked = 0
    const now = clock()
    for (const [id, entry] of entries) {
      if (looked++ >= SWEEP_PER_WRITE) break
      if (entry.expiresAt <= now) remove(id)
    }
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value
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
      const record = JSON.parse(entry.json) as StoredSession
      record.version = entry.version
      return record
    },
    async set(id, session, opts: StoreSetOptions) {
      checkId(id)
      const current = live(id)
      if (opts.expectVersion !== undefined && (current?.version ?? 0) !== opts.expectVersion)
        return 'conflict'
      const user = session.user
      if (current?.user !== user) remove(id)
      else entries.delete(id) // re-insert: Map order is write order, oldest first
      entries.set(id, {
        json: JSON.stringify(session),
        version: session.version,
        expiresAt: clock() + opts.ttl * 1000,
        user,
      })
      if (user !== undefined) {
        const ids = byUser.get(user) ?? new Set<string>()
        byUser.set(user, ids)
        ids.add(id)
      }
      sweep()
      return 'ok'
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
      const record = JSON.parse(entry.json) as StoredSession
      record.refreshedAt = refreshedAt
      entry.json = JSON.stringify(record)
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

/** In-process revocations (`endUserSessions` with the cookie store) for one instance or tests. */
export function memoryRevocations(
  options: { clock?: () => number; maxEntries?: number } = {},
): RevocationStore {
  const clock = options.clock ?? Date.now
  const maxEntries = options.maxEntries ?? 100_000
  const entries = new Map<string, { notBefore: number; expiresAt: number }>()
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
      const kept = entries.get(subject)
      const expiresAt = clock() + ttl * 1000
      entries.delete(subject)
      entries.set(subject, {
        notBefore: Math.max(notBefore, kept?.notBefore ?? notBefore),
        expiresAt: Math.max(expiresAt, kept?.expiresAt ?? expiresAt),
      })
      // Dropping the oldest revocation early could revive sessions; refuse to grow unbounded instead.
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
    },
  }
}
