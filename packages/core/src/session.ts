import { SessionError, SessionErrorCode } from './errors.js'
import {
  changing,
  type Data,
  FLASH,
  handOut,
  markDirty,
  nullData,
  type SessionHost,
  type SessionState,
} from './internal/session-state.js'
import { type Callback, RESERVED_KEYS, type Session } from './session-api.js'

// The API and the engine's state of a session live in their own modules; their names are exported
// here too, where the engine and the package entry have always found them.
export {
  changing,
  type Data,
  loadedData,
  markDirty,
  nullData,
  type SessionHost,
  type SessionState,
  snapshotOf,
} from './internal/session-state.js'
export { RESERVED_KEYS, type Session, type SessionApi, type SessionData } from './session-api.js'

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
