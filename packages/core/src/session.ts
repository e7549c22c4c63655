import { SessionError, SessionErrorCode } from './errors.js'
import type { Lifetime } from './internal/lifetime.js'

/**
 * Your session's shape. Extend it by declaration merging (each adapter re-exports an interface of
 * the same name that extends this one):
 * `declare module '@x/session-express' { interface SessionData { userId: string } }`
 */
// biome-ignore lint/suspicious/noEmptyInterface: an open interface, meant to be merged into
export interface SessionData {}

type Callback = (err?: unknown) => void

/** The methods and metadata of a session; its data is reached through `get`/`set` or as properties. */
export interface SessionApi<D extends object = SessionData> {
  /** The session id (at least 128 random bits). Stable for the session's life, changed by `regenerate()`. */
  readonly id: string
  /** True until the session has been saved once: it did not come from the request. */
  readonly isNew: boolean
  readonly createdAt: Date
  /** When the session ends if nothing else happens: the earlier of the idle and absolute limits. */
  readonly expiresAt: Date
  get<K extends keyof D & string>(key: K): D[K] | undefined
  /** Sets a key; `undefined` deletes it. Writing the value a key already holds is not a change. */
  set<K extends keyof D & string>(key: K, value: D[K] | undefined): void
  delete(key: keyof D & string): void
  has(key: keyof D & string): boolean
  /** Removes every key; the session itself lives on (use `destroy()` to end it). */
  clear(): void
  /**
   * A new id and a new cookie, after the old server record is deleted: call it on login and on
   * privilege change. `keep: true` carries the data over, `keep: ['cart']` those keys only (an
   * array alone, as @fastify/session takes it, means the same). Also takes a Node-style callback.
   */
  regenerate(
    options?: { keep?: boolean | readonly (keyof D & string)[] } | readonly (keyof D & string)[],
  ): Promise<void>
  regenerate(callback: Callback): void
  regenerate(
    options: { keep?: boolean | readonly (keyof D & string)[] } | readonly (keyof D & string)[],
    callback: Callback,
  ): void
  /** Ends the session: deletes the server record now and clears the cookie on this response. */
  destroy(): Promise<void>
  destroy(callback: Callback): void
  /** Slides the idle window on this response even if nothing changed. */
  touch(): void
  /**
   * Binds the session to a user (call it after login, with a stable user id), so that
   * `manager.endUserSessions(user)` can end it: "log out everywhere". `undefined` unbinds.
   */
  bindUser(user: string | undefined): void
  /**
   * This session's own lifetime, kept in its seal and sent on this response: "remember me" on
   * login (`{ idleTimeout: 30 * 86400 }`), a shorter one for a shared computer, or
   * `{ browserSession: true }` for a cookie without `Max-Age`/`Expires`, which the browser drops
   * when it closes (the session still ends by its idle and absolute timeouts). Times are in
   * seconds and never exceed the configured `absoluteTimeout` (larger values are capped); fields
   * left out take the configured values, and `{}` goes back to them. Kept across `regenerate()`.
   */
  setLifetime(lifetime: { idleTimeout?: number; absoluteTimeout?: number; browserSession?: boolean }): void
  /** The user this session is bound to, if any. */
  readonly boundUser: string | undefined
  /**
   * Persists now (server stores), for work that outlives the response such as a WebSocket or a
   * stream. Over a WebSocket with the cookie store, a change is refused
   * (`ERR_SESSION_SOCKET_READ_ONLY`): no cookie can reach the client mid-connection; likewise once
   * a response went out without the session (`ERR_SESSION_RESPONSE_SENT`).
   */
  save(): Promise<void>
  save(callback: Callback): void
  /**
   * Reads the session again (server stores: from the store), dropping unsaved changes. A session
   * ended elsewhere meanwhile (a logout over HTTP, an expiry) is empty afterwards and stays ended.
   * Call it in a long-lived handler, such as a WebSocket message, before relying on the session.
   */
  reload(): Promise<void>
  reload(callback: Callback): void
  /**
   * Flash messages: `flash(key, value)` adds a message for the next request (a change, so the
   * session is sent); `flash(key)` returns the messages under `key` and removes them (read once;
   * removing is a change too, reading none is not); `flash()` returns and removes them all.
   */
  flash(key: string, value: unknown): void
  flash<T = unknown>(key: string): T[]
  flash(): Record<string, unknown[]>
  /** The data, as a plain object. */
  toJSON(): Partial<D>
}

/** The session as handlers see it: its API, and its data as typed optional properties. */
export type Session<D extends object = SessionData> = SessionApi<D> & Partial<Omit<D, keyof SessionApi<D>>>

/** Names the data can never take: they are the API. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'id',
  'isNew',
  'createdAt',
  'expiresAt',
  'get',
  'set',
  'delete',
  'has',
  'clear',
  'regenerate',
  'destroy',
  'touch',
  'save',
  'toJSON',
  'then',
  'flash',
  'bindUser',
  'setLifetime',
  'boundUser',
  'reload',
])

/** Where flash messages live inside the data: a reserved name, so no data key can collide with it. */
const FLASH = 'flash'

export type Data = Record<string, unknown>

/** What the engine keeps about one request's session. Internal. */
export interface SessionState {
  id: string
  isNew: boolean
  createdAt: number
  refreshedAt: number
  data: Data
  /**
   * JSON of the data as loaded: anything that serializes differently at commit is a change. Taken
   * lazily, just before the first access that could change the data (see `dirty`), so a request
   * that only reads strings and numbers never serializes its session at all.
   */
  snapshot: string | undefined
  /**
   * Whether anything that could change the data happened: a write, or a read that handed out an
   * object (nested mutation is possible from then on). Once set it stays set for the request.
   */
  dirty: boolean
  /**
   * `data` is shared with other requests of the same cookie (a cached unseal) and frozen:
   * {@link markDirty} swaps in a copy of this request's own before anything could change it.
   */
  borrowed: boolean
  /** Store record version the data was read at (0: none). */
  version: number
  /** The user the session is bound to (per-user index, revocation). */
  user: string | undefined
  /** Key id the cookie was sealed under (rotation re-seals). */
  keyId: string | undefined
  /** This session's own lifetime (`setLifetime()`), sealed into its token; `undefined`: the configured one. */
  lifetime: Lifetime | undefined
  status: 'active' | 'destroyed' | 'failed'
  failure: SessionError | undefined
  /** Never saved (store failure with the 'anonymous' policy): the stored session is left alone. */
  readOnly: boolean
  /** Send the cookie on this response even if the data did not change (regenerate, touch). */
  forceEmit: boolean
  forceRefresh: boolean
  /** Something outside the data (the bound user) must reach the store. */
  pendingWrite: boolean
  /** A WebSocket's session: nothing can be sent to the client, so most changes are refused. */
  socket: boolean
  /** Called (once, then cleared) at the first change that may give the commit something to do. */
  onChange: (() => void) | undefined
}

/** The engine operations a session needs, implemented by the request cycle. */
export interface SessionHost {
  regenerate(state: SessionState, keep: boolean): Promise<void>
  /** Validates and applies `setLifetime()`; throws `ERR_SESSION_INVALID_OPTION` for bad values. */
  setLifetime(
    state: SessionState,
    lifetime: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  ): void
  destroy(state: SessionState): Promise<void>
  save(state: SessionState): Promise<void>
  reload(state: SessionState): Promise<void>
  expiresAt(state: SessionState): number
  /** The session id, drawn on first use. */
  idOf(state: SessionState): string
  /**
   * Throws SOCKET_READ_ONLY (a WebSocket's session) or RESPONSE_SENT (the response went out without
   * the session) when `state` cannot change there: nothing could carry the change to the client.
   */
  assertWritable(state: SessionState, what: string): void
}

/** The loaded data's JSON, taken now if no access could have changed the data yet. */
export function snapshotOf(state: SessionState): string {
  state.snapshot ??= JSON.stringify(state.data)
  return state.snapshot
}

/**
 * Call before anything that could change the data: keeps the snapshot as it was loaded, and gives
 * a request whose data was shared its own copy. Read `state.data` again after this call.
 */
export function markDirty(state: SessionState): void {
  if (state.dirty) return
  changing(state)
  // Taken now, while the data is still as loaded: the commit compares against it.
  snapshotOf(state)
  if (state.borrowed) {
    state.data = copyData(state.data)
    state.borrowed = false
  }
  state.dirty = true
}

/**
 * A request's own copy of shared data. Shared data is what a parse of JSON made (null-prototype at
 * the top, then plain objects, arrays and primitives), so a walk copies it exactly, in less time
 * than serializing and parsing it again.
 */
function copyData(shared: Data): Data {
  const data: Data = Object.create(null)
  for (const key of Object.keys(shared)) data[key] = copyJson(shared[key])
  return data
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson)
  const copy: Data = {}
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Data)[key])
    // As JSON.parse does: an own "__proto__" key is data, never the prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, writable: true, enumerable: true, configurable: true })
    else copy[key] = item
  }
  return copy
}

/** Tells whoever watches the session (see `SessionCycle.onChange`) that it may now change. */
export function changing(state: SessionState): void {
  const listener = state.onChange
  if (listener === undefined) return
  state.onChange = undefined
  listener()
}

/** A value handed out: an object can be mutated in place, so from then on the data may change. */
function handOut(state: SessionState, key: string): unknown {
  const value = state.data[key]
  if (typeof value !== 'object' || value === null) return value
  markDirty(state)
  return state.data[key]
}

export function nullData(source?: object): Data {
  const data: Data = Object.create(null)
  if (source) {
    for (const key of Object.keys(source)) data[key] = (source as Data)[key]
  }
  return data
}

/**
 * Data as read from a seal or a store: null-prototype, and with a `flash` entry only when it has
 * the shape this library writes (key -> array), so a forged or foreign one is dropped.
 */
export function loadedData(source?: object): Data {
  const data = nullData(source)
  const flash = data[FLASH]
  if (flash !== undefined && !isFlashBox(flash)) delete data[FLASH]
  return data
}

function isFlashBox(value: unknown): value is Record<string, unknown[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const key of Object.keys(value)) if (!Array.isArray((value as Data)[key])) return false
  return true
}

function withCallback(promise: Promise<void>, cb: unknown): Promise<void> | undefined {
  if (typeof cb !== 'function') return promise
  promise.then(
    () => (cb as Callback)(),
    (err) => (cb as Callback)(err),
  )
  return undefined
}

class SessionImpl {
  readonly #state: SessionState
  readonly #host: SessionHost

  constructor(state: SessionState, host: SessionHost) {
    this.#state = state
    this.#host = host
  }

  get id() {
    return this.#host.idOf(this.#state)
  }
  get isNew() {
    return this.#state.isNew
  }
  get createdAt() {
    return new Date(this.#state.createdAt)
  }
  get expiresAt() {
    return new Date(this.#host.expiresAt(this.#state))
  }
  get(key: string) {
    return RESERVED_KEYS.has(key) ? undefined : handOut(this.#state, key)
  }
  set(key: string, value: unknown) {
    assertDataKey(key)
    if (this.#state.data[key] === value && value !== undefined) return
    this.#host.assertWritable(this.#state, 'change the session')
    markDirty(this.#state)
    if (value === undefined) delete this.#state.data[key]
    else this.#state.data[key] = value
  }
  delete(key: string) {
    if (RESERVED_KEYS.has(key) || !Object.hasOwn(this.#state.data, key)) return
    this.#host.assertWritable(this.#state, 'change the session')
    markDirty(this.#state)
    delete this.#state.data[key]
  }
  has(key: string) {
    return !RESERVED_KEYS.has(key) && Object.hasOwn(this.#state.data, key)
  }
  clear() {
    if (isEmptyData(this.#state.data)) return
    this.#host.assertWritable(this.#state, 'change the session')
    markDirty(this.#state)
    this.#state.data = nullData()
  }
  regenerate(options?: unknown, cb?: unknown) {
    changing(this.#state)
    if (typeof options === 'function') return withCallback(this.#host.regenerate(this.#state, false), options)
    // An array is @fastify/session's form (the keys to keep), which @fastify/passport calls.
    const keep = Array.isArray(options) ? options : (options as { keep?: unknown } | undefined)?.keep
    if (!Array.isArray(keep)) return withCallback(this.#host.regenerate(this.#state, keep === true), cb)
    const state = this.#state
    const kept = keep.filter(
      (key): key is string => typeof key === 'string' && Object.hasOwn(state.data, key),
    )
    const values = kept.map((key) => state.data[key])
    const done = this.#host.regenerate(state, false).then(() => {
      kept.forEach((key, i) => {
        state.data[key] = values[i]
      })
    })
    return withCallback(done, cb)
  }
  destroy(cb?: unknown) {
    changing(this.#state)
    return withCallback(this.#host.destroy(this.#state), cb)
  }
  touch() {
    changing(this.#state)
    this.#state.forceRefresh = true
  }
  bindUser(user: string | undefined) {
    if (user !== undefined && (typeof user !== 'string' || user.length === 0 || user.length > 256)) {
      throw new SessionError(
        SessionErrorCode.INVALID_OPTION,
        'bindUser() takes a user id of 1 to 256 characters',
      )
    }
    if (user === this.#state.user) return
    this.#host.assertWritable(this.#state, 'bind a user')
    changing(this.#state)
    this.#state.user = user
    this.#state.forceEmit = true
    this.#state.pendingWrite = true
  }
  setLifetime(lifetime: { idleTimeout?: number; absoluteTimeout?: number; browserSession?: boolean }) {
    changing(this.#state)
    this.#host.setLifetime(this.#state, lifetime)
  }
  get boundUser() {
    return this.#state.user
  }
  save(cb?: unknown) {
    changing(this.#state)
    return withCallback(this.#host.save(this.#state), cb)
  }
  reload(cb?: unknown) {
    changing(this.#state)
    return withCallback(this.#host.reload(this.#state), cb)
  }
  toJSON() {
    // The copy is shallow: its objects are the session's own.
    markDirty(this.#state)
    const copy = { ...this.#state.data }
    delete copy[FLASH]
    return copy
  }
  flash(...args: unknown[]): unknown {
    const state = this.#state
    // markDirty() may swap in a copy of the data: every read of the box comes after it.
    const boxOf = () => state.data[FLASH] as Record<string, unknown[]> | undefined
    if (args.length === 0) {
      if (boxOf() === undefined) return {}
      this.#host.assertWritable(state, 'read flash messages')
      markDirty(state)
      const box = boxOf()
      delete state.data[FLASH]
      return { ...box }
    }
    const key = args[0]
    if (typeof key !== 'string' || key.length === 0) {
      throw new SessionError(SessionErrorCode.INVALID_OPTION, 'flash() takes a non-empty string key')
    }
    if (args.length === 1) {
      const held = boxOf()
      if (held === undefined || !Object.hasOwn(held, key)) return []
      this.#host.assertWritable(state, 'read flash messages')
      markDirty(state)
      const box = boxOf() as Record<string, unknown[]>
      const messages = box[key]
      delete box[key]
      if (isEmptyData(box as Data)) delete state.data[FLASH]
      return messages
    }
    const value = args[1]
    if (value === undefined) {
      throw new SessionError(
        SessionErrorCode.INVALID_OPTION,
        'flash(key, value) needs a JSON-serializable value',
      )
    }
    this.#host.assertWritable(state, 'add a flash message')
    markDirty(state)
    const next: Record<string, unknown[]> = boxOf() ?? Object.create(null)
    next[key] = [...(Object.hasOwn(next, key) ? (next[key] as unknown[]) : []), value]
    state.data[FLASH] = next
    return undefined
  }

  /** Bound API methods, made on first use: most requests call none. */
  #bound: Record<string, unknown> | undefined

  #method(key: string, fn: (...args: unknown[]) => unknown): unknown {
    this.#bound ??= Object.create(null) as Record<string, unknown>
    this.#bound[key] ??= fn.bind(this)
    return this.#bound[key]
  }

  /** Throws what made the session unusable (a store that failed to load it). */
  #check(): void {
    if (this.#state.status === 'failed') throw this.#state.failure
  }

  static readonly handler: ProxyHandler<SessionImpl> = {
    get(impl, key) {
      // Promise resolution probes `then` on every value it settles with: answer before any check,
      // so a session can be awaited (or returned from an async function) in every state.
      if (key === 'then' || typeof key === 'symbol') return undefined
      impl.#check()
      if (RESERVED_KEYS.has(key)) {
        const value = (impl as unknown as Record<string, unknown>)[key]
        return typeof value === 'function'
          ? impl.#method(key, value as (...args: unknown[]) => unknown)
          : value
      }
      return handOut(impl.#state, key)
    },
    set(impl, key, value) {
      impl.#check()
      impl.set(key as string, value)
      return true
    },
    deleteProperty(impl, key) {
      impl.#check()
      if (typeof key === 'string') impl.delete(key)
      return true
    },
    has(impl, key) {
      impl.#check()
      return typeof key === 'string' && (RESERVED_KEYS.has(key) || impl.has(key))
    },
    ownKeys(impl) {
      impl.#check()
      return Object.keys(impl.#state.data).filter((key) => key !== FLASH)
    },
    getOwnPropertyDescriptor(impl, key) {
      impl.#check()
      if (typeof key !== 'string' || !impl.has(key)) return undefined
      return { value: handOut(impl.#state, key), writable: true, enumerable: true, configurable: true }
    },
    defineProperty(impl, key, descriptor) {
      impl.#check()
      if (!('value' in descriptor)) {
        throw new SessionError(
          SessionErrorCode.RESERVED_KEY,
          'session data must be plain values, not accessors',
        )
      }
      impl.set(key as string, descriptor.value)
      return true
    },
    // The target is the implementation: its prototype stays out of sight, and it stays extensible
    // (a frozen target would contradict the data the other traps report).
    getPrototypeOf() {
      return null
    },
    setPrototypeOf() {
      return false
    },
    preventExtensions() {
      return false
    },
  }
}

function isEmptyData(data: Data): boolean {
  for (const _ in data) return false
  return true
}

function assertDataKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') {
    throw new SessionError(SessionErrorCode.RESERVED_KEY, 'session data keys must be strings')
  }
  if (RESERVED_KEYS.has(key)) {
    throw new SessionError(
      SessionErrorCode.RESERVED_KEY,
      `"${key}" is a method or property of the session and cannot be used as a data key; choose another name`,
    )
  }
}

/**
 * The object handlers see. A Proxy, so that `session.userId = 1` and `delete session.userId` work
 * as Express and Koa users (and Passport) expect, while API names always resolve to the API. Its
 * target is the session itself, behind one handler shared by every session: a request that never
 * touches its session pays for two objects, not a handler and its closures.
 */
export function createSession<D extends object>(state: SessionState, host: SessionHost): Session<D> {
  return new Proxy(new SessionImpl(state, host), SessionImpl.handler) as unknown as Session<D>
}
