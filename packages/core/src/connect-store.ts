import { SessionError, SessionErrorCode } from './errors.js'
import { checkDataSize, readMaxDataSize } from './internal/data-size.js'
import { isSessionId } from './internal/ids.js'
import { isPlainObject } from './internal/payload.js'
import type { SessionChange, SessionStore, StoredSession, StoreSetOptions } from './store.js'

/**
 * The callback API of an express-session (connect) store: connect-redis, connect-pg-simple,
 * connect-mongo, express-session's `MemoryStore` and the rest. A method that declares its callback
 * parameter is answered through it (a promise it also returns is watched for rejection only); a
 * method that declares none must return a promise.
 */
export interface ConnectSessionStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): unknown
  set(sid: string, session: ConnectSessionRecord, callback: (error?: unknown) => void): unknown
  destroy(sid: string, callback: (error?: unknown) => void): unknown
}

/**
 * What `connectStore()` hands the connect store for one session: JSON-able, with the `cookie`
 * entry express-session gives its stores (connect-redis, connect-pg-simple and connect-mongo take
 * their expiry from `cookie.expires`; a `Date`, as express-session passes it), and this library's
 * record under its own key.
 */
export interface ConnectSessionRecord {
  cookie: { originalMaxAge: number; maxAge: number; expires: Date; httpOnly: true; path: '/' }
  [RECORD_KEY]: {
    /** The record's format; a record of another format is no session. */
    format: 1
    data: Record<string, unknown>
    createdAt: number
    refreshedAt: number
    version: number
    user?: string
  }
}

/** Where this library's record sits in the connect store's session object. */
const RECORD_KEY = '@x/session'

export type ConnectStoreEvent =
  /**
   * The connect store answered with something that is not this library's record (`foreign`: an
   * express-session session or another app's; `bad-fields`: ours, but damaged or of another
   * format). It reads as no session and is left in place. Never carries the session id.
   */
  { type: 'corrupt'; reason: 'foreign' | 'bad-fields' }

export interface ConnectStoreOptions {
  /**
   * Largest session data accepted, in bytes of its JSON (UTF-8); a bigger write rejects with
   * `ERR_SESSION_TOO_LARGE`. @default 1048576 (1 MiB)
   */
  maxDataSize?: number
  /** Current time in epoch milliseconds, for `cookie.expires`. @default Date.now */
  clock?: () => number
  /** Records that read as no session, for your logs. */
  onEvent?: (event: ConnectStoreEvent) => void
}

/** Why a connect store cannot check versions; also what `unsupported.versionedSet` says. */
const NO_VERSION_CHECKS =
  'a connect store has no compare-and-set: `set` writes whatever version is stored (the last write wins), and `apply` reads, merges and writes as three steps that are serialised per session within this process only'

/**
 * Makes an express-session (connect) store a `SessionStore`, so sessions can live in whatever
 * such a store reaches. The connect store keeps one record per session, expiring on its own by
 * the record's `cookie.expires`.
 *
 * What a connect store cannot do is declared: it has no compare-and-set, so versions are not
 * checked (`unsupported.versionedSet`), and it has no per-user index (no `listByUser` /
 * `deleteByUser`, so `endUserSessions()` needs `revocations`). Writes of one session are
 * serialised within this process, each merging its request's change into the record read just
 * before, so parallel requests of one session keep each other's keys here; requests of one
 * session served by several processes at once can overwrite each other's changes.
 */
export function connectStore(
  store: ConnectSessionStore,
  options: ConnectStoreOptions = {},
): SessionStore &
  Required<Pick<SessionStore, 'apply' | 'touch'>> & {
    readonly unsupported: { readonly versionedSet: string }
  } {
  if (
    store === null ||
    typeof store !== 'object' ||
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.destroy !== 'function'
  ) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      'connectStore: pass an express-session store (an object with get, set and destroy methods)',
    )
  }
  const maxDataSize = readMaxDataSize(options.maxDataSize, 'connectStore')
  const clock = options.clock ?? Date.now
  const { onEvent } = options
  /** The tail of the queued writes of each session id with writes in flight. */
  const queues = new Map<string, Promise<unknown>>()

  /** Runs `task` after every write of `id` queued before it (in this process). */
  const serial = <T>(id: string, task: () => Promise<T>): Promise<T> => {
    const run = (queues.get(id) ?? Promise.resolve()).then(task)
    const tail = run.then(noop, noop)
    queues.set(id, tail)
    void tail.then(() => {
      if (queues.get(id) === tail) queues.delete(id)
    })
    return run
  }

  const read = async (id: string): Promise<StoredSession | undefined> => {
    const raw = await call<unknown>(store, 'get', [id])
    if (raw === undefined || raw === null) return undefined
    const result = fromConnect(raw, clock())
    if (typeof result === 'string') {
      if (result !== 'expired') onEvent?.({ type: 'corrupt', reason: result })
      return undefined
    }
    return result
  }

  const write = async (id: string, session: StoredSession, ttl: number): Promise<void> => {
    const json = JSON.stringify(session.data)
    checkDataSize(json, maxDataSize)
    // The record is the connect store's to keep: a copy, which no later change to the session's
    // data (the engine's, the caller's) reaches, whether the store serialises it or not.
    const ms = Math.max(1, Math.ceil(ttl)) * 1000
    const record: ConnectSessionRecord = {
      cookie: { originalMaxAge: ms, maxAge: ms, expires: new Date(clock() + ms), httpOnly: true, path: '/' },
      [RECORD_KEY]: {
        format: 1,
        data: JSON.parse(json) as Record<string, unknown>,
        createdAt: session.createdAt,
        refreshedAt: session.refreshedAt,
        version: session.version,
        ...(session.user === undefined ? {} : { user: session.user }),
      },
    }
    await call(store, 'set', [id, record])
  }

  return {
    unsupported: { versionedSet: NO_VERSION_CHECKS },
    async get(id) {
      checkId(id)
      return read(id)
    },
    // `expectVersion` cannot be honoured (see `unsupported`); the engine writes an existing
    // session through `apply`, so `set` only creates sessions, under fresh random ids.
    async set(id, session, opts: StoreSetOptions) {
      checkId(id)
      return serial(id, async () => {
        await write(id, session, opts.ttl)
        return 'ok' as const
      })
    },
    async apply(id, change: SessionChange, opts) {
      checkId(id)
      return serial(id, async () => {
        const current = await read(id)
        if (!current) return undefined
        const data = current.data
        for (const key of change.remove) delete data[key]
        for (const key of Object.keys(change.set)) {
          Object.defineProperty(data, key, {
            value: change.set[key],
            writable: true,
            enumerable: true,
            configurable: true,
          })
        }
        const user = change.bind ? change.bind.user : current.user
        const next: StoredSession = {
          data,
          createdAt: current.createdAt,
          refreshedAt: change.refreshedAt,
          version: current.version + 1,
          ...(user === undefined ? {} : { user }),
        }
        await write(id, next, opts.ttl)
        return next.version
      })
    },
    // A connect store's own `touch` only resets its expiry timer: it cannot record the refresh
    // time the idle timeout counts from, so a touch writes the record back as it was read.
    async touch(id, ttl, refreshedAt) {
      checkId(id)
      await serial(id, async () => {
        const current = await read(id)
        if (current) await write(id, { ...current, refreshedAt }, ttl)
      })
    },
    async delete(id) {
      checkId(id)
      await serial(id, () => call(store, 'destroy', [id]))
    },
  }
}

function noop(): void {}

function checkId(id: string): void {
  if (!isSessionId(id))
    throw new SessionError(SessionErrorCode.INVALID_ID, 'not a session id issued by this library')
}

/**
 * Calls a connect store method with a callback. A thenable it returns is watched for rejection,
 * and for its value when the method declares no callback parameter (a promise-only store).
 */
function call<T = void>(store: ConnectSessionStore, method: keyof ConnectSessionStore, args: unknown[]) {
  return new Promise<T>((resolve, reject) => {
    const fn = store[method] as (...params: unknown[]) => unknown
    let returned: unknown
    try {
      returned = fn.call(store, ...args, (error: unknown, value?: unknown) => {
        if (error) reject(error)
        else resolve(value as T)
      })
    } catch (error) {
      reject(error)
      return
    }
    if (returned === null || (typeof returned !== 'object' && typeof returned !== 'function')) return
    const then = (returned as { then?: unknown }).then
    if (typeof then !== 'function') return
    const promiseOnly = fn.length <= args.length
    then.call(
      returned,
      (value: unknown) => {
        if (promiseOnly) resolve(value as T)
      },
      reject,
    )
  })
}

/**
 * This library's record inside what a connect store answered, or why there is none: a session of
 * another app, a damaged record, or one whose `cookie.expires` has passed (a store that does not
 * expire records itself).
 */
function fromConnect(raw: unknown, now: number): StoredSession | 'foreign' | 'bad-fields' | 'expired' {
  try {
    if (!isPlainObject(raw) || !isPlainObject(raw[RECORD_KEY])) return 'foreign'
    const { format, data, createdAt, refreshedAt, version, user } = raw[RECORD_KEY]
    if (
      format !== 1 ||
      !isPlainObject(data) ||
      !Number.isSafeInteger(createdAt) ||
      !Number.isSafeInteger(refreshedAt) ||
      !Number.isSafeInteger(version) ||
      (version as number) < 1 ||
      (user !== undefined && typeof user !== 'string')
    ) {
      return 'bad-fields'
    }
    const cookie = raw.cookie
    const expires = isPlainObject(cookie) ? cookie.expires : undefined
    if (expires != null) {
      const at = new Date(expires as string).getTime()
      if (Number.isNaN(at)) return 'bad-fields'
      if (at <= now) return 'expired'
    }
    // A copy, so what the caller changes is not what the store holds (a store that keeps objects
    // in memory hands out the same one each time).
    const copy = JSON.parse(JSON.stringify(data)) as unknown
    if (!isPlainObject(copy)) return 'bad-fields'
    const session: StoredSession = {
      data: copy,
      createdAt: createdAt as number,
      refreshedAt: refreshedAt as number,
      version: version as number,
    }
    if (user !== undefined) session.user = user as string
    return session
  } catch {
    // Getters that throw, cycles, BigInts: what a store holds is not trusted to be data.
    return 'bad-fields'
  }
}
