import { SessionError, SessionErrorCode } from './errors.js'
import { privateCacheControl } from './internal/cache-control.js'
import { clearSessionCookie, readSessionCookie, serializeSessionCookie } from './internal/cookie.js'
import { generateSessionId, isSessionId } from './internal/ids.js'
import { createSealer, type Sealer } from './internal/sealer.js'
import { type ResolvedOptions, resolveOptions, type SessionOptions } from './options.js'
import {
  createSession,
  type Data,
  nullData,
  type Session,
  type SessionData,
  type SessionHost,
  type SessionState,
} from './session.js'
import type { StoredSession } from './store.js'

/** Browsers cap cookie lifetimes at 400 days; a longer Max-Age is cut silently, so never send one. */
const MAX_COOKIE_AGE = 400 * 86_400
/**
 * Re-reads and re-applies on version conflicts before giving up. Each round has one winner, so
 * many writers on one session need several rounds; jittered backoff spreads them out.
 */
const MAX_CONFLICT_RETRIES = 16
/** Upper bound of the random wait before a re-read, in milliseconds. */
const MAX_CONFLICT_BACKOFF = 64
const PAYLOAD_VERSION = 1

/** What the cookie seal carries: everything that decides validity. `d` only with the cookie store. */
interface Payload {
  v: typeof PAYLOAD_VERSION
  id: string
  /** Cookie name: a seal made for another cookie is not accepted under this one. */
  n: string
  c: number
  r: number
  d?: Data
  /** Bound user: checked against revocations (cookie store). */
  u?: string
}

export interface RequestInfo {
  /** The request's `Cookie` header: one value, or all of them when the request carried several. */
  cookieHeader: string | readonly string[] | undefined
  /** Whether the connection is HTTPS, as the framework reports it (decides `secure: 'auto'`). */
  secure?: boolean
}

export interface CommitResult {
  /** `Set-Cookie` values to append (never to replace the app's own). Empty: send nothing. */
  setCookie: string[]
  /** When set, the value the response's `Cache-Control` must have, so shared caches keep out. */
  cacheControl?: string
}

/** One request's session lifecycle. */
export interface SessionCycle<D extends object = SessionData> {
  /** Reads the cookie (and the store). Never rejects; concurrent calls share one result. */
  load(): Promise<Session<D>>
  /** Whether `load()` was called. */
  readonly loaded: boolean
  /**
   * Saves what changed and returns the headers to send. Call once, before the response's headers
   * go out; pass the response's current `Cache-Control` so it can be made private if needed.
   */
  commit(response?: { cacheControl?: string | undefined }): Promise<CommitResult>
}

export interface SessionManager<D extends object = SessionData> {
  /** Starts a request's cycle. Synchronous and cheap: nothing is parsed or unsealed yet. */
  begin(request: RequestInfo): SessionCycle<D>
  /** The session cookie's name. */
  readonly cookieName: string
  /** Ids of the live sessions bound to `user` (server stores with a per-user index). */
  listUserSessions(user: string): Promise<string[]>
  /**
   * Log out everywhere: ends every session bound to `user`. Server stores delete them; with
   * `revocations` configured, every cookie bound to the user and created before now stops
   * working too (the cookie store's only way to end a session it does not hold).
   */
  endUserSessions(user: string): Promise<void>
}

const NO_HEADERS: CommitResult = Object.freeze({ setCookie: [] }) as CommitResult

export function createSessionManager<D extends object = SessionData>(
  options: SessionOptions,
): SessionManager<D> {
  const opts = resolveOptions(options)
  const sealer = createSealer(options.secret ?? developmentSecret(), {
    cacheSize: options.unsealCacheSize ?? 1000,
  })
  const { store, revocations, clock, absoluteMs } = opts
  return {
    cookieName: opts.cookie.name,
    begin: (request) => new Cycle<D>(opts, sealer, request),
    async listUserSessions(user) {
      if (!store?.listByUser)
        throw unsupported('listUserSessions() needs a store with a per-user index (listByUser)')
      return store.listByUser(user)
    },
    async endUserSessions(user) {
      if (!store?.deleteByUser && !revocations) {
        throw unsupported(
          'endUserSessions() needs a store with a per-user index, or `revocations` for the cookie store',
        )
      }
      // Revocations first: once written, no earlier cookie of the user loads, whatever the store does.
      if (revocations) await revocations.set(user, clock(), Math.ceil(absoluteMs / 1000))
      if (store?.deleteByUser) await store.deleteByUser(user)
    },
  }
}

/** What every adapter accepts: options to build a manager from, or one built already. */
export type ManagerSource<D extends object = SessionData> = SessionOptions | { manager: SessionManager<D> }

/**
 * The manager for an adapter's options. Pass `{ manager }` to share one manager between the
 * middleware and your code (for `endUserSessions` on "log out everywhere").
 */
export function resolveManager<D extends object = SessionData>(
  source: ManagerSource<D> = {},
): SessionManager<D> {
  if ('manager' in source && source.manager !== undefined) return source.manager
  return createSessionManager<D>(source as SessionOptions)
}

function unsupported(message: string): SessionError {
  return new SessionError(SessionErrorCode.UNSUPPORTED, message)
}

class Cycle<D extends object> implements SessionCycle<D>, SessionHost {
  #opts: ResolvedOptions
  #sealer: Sealer
  #request: RequestInfo
  #present: string[] = []
  #state: Promise<SessionState> | undefined
  #session: Promise<Session<D>> | undefined
  #commit: Promise<CommitResult> | undefined

  constructor(opts: ResolvedOptions, sealer: Sealer, request: RequestInfo) {
    this.#opts = opts
    this.#sealer = sealer
    this.#request = request
  }

  get loaded() {
    return this.#state !== undefined
  }

  load(): Promise<Session<D>> {
    if (!this.#session) {
      this.#state = this.#read()
      this.#session = this.#state.then((state) => createSession<D>(state, this))
    }
    return this.#session
  }

  commit(response?: { cacheControl?: string | undefined }): Promise<CommitResult> {
    this.#commit ??= this.#write(response?.cacheControl).catch((error: unknown) => {
      // Some frameworks have nowhere to report an error raised after the handler: say it here.
      this.#opts.emit({ type: 'commit-error', code: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' })
      throw error
    })
    return this.#commit
  }

  // --- load ---------------------------------------------------------------------------------

  #fresh(now: number): SessionState {
    return {
      id: generateSessionId(),
      isNew: true,
      createdAt: now,
      refreshedAt: now,
      data: nullData(),
      snapshot: '{}',
      version: 0,
      user: undefined,
      keyId: undefined,
      ...requestFlags(),
    }
  }

  async #read(): Promise<SessionState> {
    const { cookie, maxChunks, store, emit, clock, absoluteMs } = this.#opts
    const { value, present } = readSessionCookie(this.#request.cookieHeader, cookie.name, maxChunks)
    this.#present = present
    const now = clock()
    if (value === undefined) return this.#fresh(now)

    const unsealed = await this.#sealer.unseal(value, now, absoluteMs)
    if (!unsealed.ok) {
      if (unsealed.reason === 'unknown-key') {
        // A newer deploy sealed it: this instance cannot read it, but must not delete it either.
        emit({ type: 'unknown-key', keyId: unsealed.keyId ?? '', cookie: cookie.name })
      } else if (unsealed.reason === 'expired') {
        emit({ type: 'expired', reason: 'lifetime', cookie: cookie.name })
      } else {
        emit({ type: 'invalid', reason: unsealed.reason, cookie: cookie.name })
      }
      return this.#fresh(now)
    }
    const payload = readPayload(unsealed.payload, cookie.name, store === undefined)
    if (!payload) {
      emit({ type: 'invalid', reason: 'bad-payload', cookie: cookie.name })
      return this.#fresh(now)
    }

    let record: StoredSession | undefined
    if (store) {
      try {
        record = await store.get(payload.id)
      } catch (error) {
        return this.#storeFailed(error, now)
      }
      if (!isRecord(record)) {
        emit({ type: 'invalid', reason: 'not-found', cookie: cookie.name })
        return this.#fresh(now)
      }
    }
    const user = record ? record.user : payload.u
    if (user !== undefined && this.#opts.revocations) {
      let notBefore: number | undefined
      try {
        notBefore = await this.#opts.revocations.get(user)
      } catch (error) {
        return this.#storeFailed(error, now)
      }
      if (notBefore !== undefined && payload.c < notBefore) {
        emit({ type: 'revoked', cookie: cookie.name })
        return this.#fresh(now)
      }
    }
    const createdAt = record ? record.createdAt : payload.c
    const refreshedAt = record ? record.refreshedAt : payload.r
    const expired = this.#expiredReason(createdAt, refreshedAt, now)
    if (expired) {
      emit({ type: 'expired', reason: expired, cookie: cookie.name })
      if (store) {
        // Met an expired record: delete it now rather than wait for the store's ttl (X7).
        await store
          .delete(payload.id)
          .catch((error: unknown) => emit({ type: 'store-error', operation: 'delete', error }))
      }
      return this.#fresh(now)
    }
    const data = nullData(record ? record.data : payload.d)
    return {
      id: payload.id,
      isNew: false,
      createdAt,
      refreshedAt,
      data,
      snapshot: JSON.stringify(data),
      version: record ? record.version : 0,
      user: typeof user === 'string' ? user : undefined,
      keyId: unsealed.keyId,
      ...requestFlags(),
    }
  }

  #storeFailed(error: unknown, now: number): SessionState {
    this.#opts.emit({ type: 'store-error', operation: 'get', error })
    const state = this.#fresh(now)
    if (this.#opts.onStoreError === 'anonymous') {
      state.readOnly = true
    } else {
      state.status = 'failed'
      state.failure = storeError(error)
    }
    return state
  }

  #expiredReason(createdAt: number, refreshedAt: number, now: number): 'idle' | 'absolute' | undefined {
    if (now >= createdAt + this.#opts.absoluteMs) return 'absolute'
    if (now >= refreshedAt + this.#opts.idleMs) return 'idle'
    return undefined
  }

  expiresAt(state: SessionState): number {
    return Math.min(state.refreshedAt + this.#opts.idleMs, state.createdAt + this.#opts.absoluteMs)
  }

  // --- operations the session calls ------------------------------------------------------

  async regenerate(state: SessionState, keep: boolean): Promise<void> {
    await this.#deleteRecord(state)
    const now = this.#opts.clock()
    state.id = generateSessionId()
    state.isNew = true
    state.version = 0
    state.createdAt = now
    state.refreshedAt = now
    state.status = 'active'
    state.forceEmit = true
    if (!keep) state.data = nullData()
  }

  async destroy(state: SessionState): Promise<void> {
    await this.#deleteRecord(state)
    state.status = 'destroyed'
    state.data = nullData()
  }

  async save(state: SessionState): Promise<void> {
    const { store, clock } = this.#opts
    if (!store || state.status !== 'active' || state.readOnly) return
    const json = serialize(state.data)
    if (json === state.snapshot && !state.isNew && !state.pendingWrite) return
    const now = clock()
    state.refreshedAt = now
    if (!(await this.#persist(state, json, now))) {
      state.status = 'destroyed'
      return
    }
    // The browser needs the cookie with the new expiry; commit sends it.
    state.forceEmit = true
  }

  async #deleteRecord(state: SessionState): Promise<void> {
    const { store, emit } = this.#opts
    if (!store || state.isNew || state.status !== 'active') return
    try {
      await store.delete(state.id)
    } catch (error) {
      emit({ type: 'store-error', operation: 'delete', error })
      throw storeError(error)
    }
  }

  // --- commit ------------------------------------------------------------------------------

  async #write(cacheControl: string | undefined): Promise<CommitResult> {
    if (!this.#state) return NO_HEADERS
    const state = await this.#state
    const opts = this.#opts
    const secure = this.#request.secure === true
    if (state.status === 'failed' || state.readOnly) return NO_HEADERS
    if (state.status === 'destroyed') {
      const setCookie = clearSessionCookie(opts.cookie, this.#present, secure)
      return setCookie.length ? { setCookie, cacheControl: privateCacheControl(cacheControl) } : NO_HEADERS
    }

    const json = serialize(state.data)
    const changed = json !== state.snapshot
    if (state.isNew && !changed && !state.forceEmit) return NO_HEADERS
    const now = opts.clock()
    const due = state.forceRefresh || now - state.refreshedAt >= opts.rollingMs
    const rotate = state.keyId !== undefined && state.keyId !== this.#sealer.currentKeyId
    if (!changed && !due && !rotate && !state.forceEmit) return NO_HEADERS

    // A key rotation alone re-seals without sliding the idle window: loading never extends a session.
    if (changed || due || state.forceEmit) state.refreshedAt = now
    const expiresAt = this.expiresAt(state)
    if (expiresAt <= now) {
      return this.#clear(cacheControl)
    }

    if (opts.store) {
      if (changed || state.isNew || state.pendingWrite) {
        if (!(await this.#persist(state, json, now))) return this.#clear(cacheControl)
      } else if (due) {
        await this.#touch(state, expiresAt, now)
      }
    }

    const payload: Payload = {
      v: PAYLOAD_VERSION,
      id: state.id,
      n: opts.cookie.name,
      c: state.createdAt,
      r: state.refreshedAt,
    }
    if (!opts.store) payload.d = state.data
    if (state.user !== undefined) payload.u = state.user
    const token = await this.#sealer.seal(payload, expiresAt)
    const maxAge = Math.min(MAX_COOKIE_AGE, Math.floor((expiresAt - now) / 1000))
    const setCookie = serializeSessionCookie(
      opts.cookie,
      token,
      maxAge,
      new Date(now + maxAge * 1000),
      this.#present,
      secure,
      {
        maxChunks: opts.maxChunks,
        maxTotal: opts.maxTotalSize,
      },
    )
    return { setCookie, cacheControl: privateCacheControl(cacheControl) }
  }

  #clear(cacheControl: string | undefined): CommitResult {
    const setCookie = clearSessionCookie(this.#opts.cookie, this.#present, this.#request.secure === true)
    return setCookie.length ? { setCookie, cacheControl: privateCacheControl(cacheControl) } : NO_HEADERS
  }

  async #touch(state: SessionState, expiresAt: number, now: number): Promise<void> {
    const { store, emit } = this.#opts
    if (!store) return
    const ttl = Math.ceil((expiresAt - now) / 1000)
    try {
      if (store.touch) await store.touch(state.id, ttl, state.refreshedAt)
      else await this.#persist(state, state.snapshot, now)
    } catch (error) {
      emit({ type: 'store-error', operation: 'touch', error })
      throw storeError(error)
    }
  }

  /**
   * Version-checked save. On conflict, re-reads and re-applies only the keys this request changed,
   * so parallel requests writing different keys all persist. Returns false when the record was
   * deleted meanwhile (a logout): a slow request must not bring the session back.
   */
  async #persist(state: SessionState, json: string, now: number): Promise<boolean> {
    const { store, emit } = this.#opts
    if (!store) return true
    for (let attempt = 0; ; attempt++) {
      const expiresAt = this.expiresAt(state)
      const ttl = Math.max(1, Math.ceil((expiresAt - now) / 1000))
      const record: StoredSession = {
        data: state.data,
        createdAt: state.createdAt,
        refreshedAt: state.refreshedAt,
        version: state.version + 1,
        ...(state.user === undefined ? {} : { user: state.user }),
      }
      let result: 'ok' | 'conflict'
      try {
        result = await store.set(state.id, record, { ttl, expectVersion: state.version })
      } catch (error) {
        emit({ type: 'store-error', operation: 'set', error })
        throw storeError(error)
      }
      if (result === 'ok') {
        state.pendingWrite = false
        state.version += 1
        state.snapshot = json
        state.isNew = false
        return true
      }
      emit({ type: 'conflict', retries: attempt + 1 })
      if (attempt >= MAX_CONFLICT_RETRIES) {
        throw new SessionError(
          SessionErrorCode.STORE_UNAVAILABLE,
          'the session kept changing under this request; try again',
          { status: 503 },
        )
      }
      // Full jitter: writers that collided do not collide again in lockstep.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.random() * Math.min(2 ** attempt, MAX_CONFLICT_BACKOFF)),
      )
      let fresh: StoredSession | undefined
      try {
        fresh = await store.get(state.id)
      } catch (error) {
        emit({ type: 'store-error', operation: 'get', error })
        throw storeError(error)
      }
      if (!isRecord(fresh)) return false
      state.data = reapply(nullData(fresh.data), state.snapshot, state.data)
      json = serialize(state.data)
      state.snapshot = JSON.stringify(nullData(fresh.data))
      state.version = fresh.version
      state.createdAt = fresh.createdAt
    }
  }
}

let generatedSecret: string | undefined

/**
 * Outside production a missing secret is made up once per process, so a first run just works;
 * sessions then end on restart and differ between processes, so it says so, loudly, once.
 */
function developmentSecret(): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  if (env?.NODE_ENV === 'production') {
    throw new SessionError(
      SessionErrorCode.INVALID_SECRET,
      'a `secret` of at least 32 characters is required in production: set one from your secret manager or environment',
    )
  }
  if (generatedSecret === undefined) {
    generatedSecret = generateSessionId() + generateSessionId()
    console.warn(
      [
        '',
        '!!! @x/session: no `secret` configured: using a random one made for this process only.',
        '!!! Sessions will not survive a restart and are not shared between processes.',
        '!!! Set `secret` (32+ characters) before you deploy; NODE_ENV=production refuses to start without one.',
        '',
      ].join('\n'),
    )
  }
  return generatedSecret
}

/** The per-request state every session starts with, loaded or new. */
function requestFlags(): Pick<
  SessionState,
  'status' | 'failure' | 'readOnly' | 'forceEmit' | 'forceRefresh' | 'pendingWrite'
> {
  return {
    status: 'active',
    failure: undefined,
    readOnly: false,
    forceEmit: false,
    forceRefresh: false,
    pendingWrite: false,
  }
}

/** Applies to `base` the top-level keys that differ between the loaded snapshot and `current`. */
function reapply(base: Data, snapshot: string, current: Data): Data {
  const before = nullData(JSON.parse(snapshot) as object)
  for (const key of new Set([...Object.keys(before), ...Object.keys(current)])) {
    if (JSON.stringify(before[key]) === JSON.stringify(current[key])) continue
    if (current[key] === undefined) delete base[key]
    else base[key] = current[key]
  }
  return base
}

function serialize(data: Data): string {
  try {
    return JSON.stringify(data)
  } catch (cause) {
    throw new SessionError(
      SessionErrorCode.NOT_SERIALIZABLE,
      'session data must be JSON-serializable (no BigInt, no cycles)',
      {
        cause,
      },
    )
  }
}

function storeError(cause: unknown): SessionError {
  return new SessionError(SessionErrorCode.STORE_UNAVAILABLE, 'the session store is unavailable', {
    cause,
    status: 503,
  })
}

function isPlainObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isRecord(value: unknown): value is StoredSession {
  return (
    isPlainObject(value) &&
    isPlainObject(value.data) &&
    Number.isSafeInteger(value.createdAt) &&
    Number.isSafeInteger(value.refreshedAt) &&
    Number.isSafeInteger(value.version)
  )
}

function readPayload(value: unknown, cookieName: string, withData: boolean): Payload | undefined {
  if (!isPlainObject(value)) return undefined
  const { v, id, n, c, r, d } = value
  if (v !== PAYLOAD_VERSION || !isSessionId(id) || n !== cookieName) return undefined
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(r) || (r as number) < (c as number)) return undefined
  if (withData ? !isPlainObject(d) : d !== undefined) return undefined
  if (value.u !== undefined && typeof value.u !== 'string') return undefined
  return value as unknown as Payload
}
