import type { AdoptedSession } from './adopt.js'
import { SessionError, SessionErrorCode } from './errors.js'
import { privateCacheControl } from './internal/cache-control.js'
import { type ContextRunner, kContextRunner } from './internal/context-key.js'
import { clearSessionCookie, readSessionCookie, serializeSessionCookie } from './internal/cookie.js'
import { generateSessionId } from './internal/ids.js'
import { type Lifetime, lifetimeFrom, rollingOf, sameLifetime, timeoutsOf } from './internal/lifetime.js'
import { isPlainObject, payloadJson, readPayload } from './internal/payload.js'
import { createSealer, type Sealer, SerializedJson, type UnsealResult } from './internal/sealer.js'
import { reportWeakSecrets } from './internal/secret-strength.js'
import { isProduction, type ResolvedOptions, resolveOptions, type SessionOptions } from './options.js'
import {
  changing,
  createSession,
  type Data,
  loadedData,
  markDirty,
  nullData,
  RESERVED_KEYS,
  type Session,
  type SessionData,
  type SessionHost,
  type SessionState,
  snapshotOf,
} from './session.js'
import type { PeekableStore, SessionChange, StoredSession } from './store.js'

/** Browsers cap cookie lifetimes at 400 days; a longer Max-Age is cut silently, so never send one. */
const MAX_COOKIE_AGE = 400 * 86_400
/**
 * Re-reads and re-applies on version conflicts before giving up. Each round has one winner, so
 * many writers on one session need several rounds; jittered backoff spreads them out.
 */
const MAX_CONFLICT_RETRIES = 16
/** Upper bound of the random wait before a re-read, in milliseconds. */
const MAX_CONFLICT_BACKOFF = 64

/** A request's headers as the framework has them: Node's `req.headers`, or a Fetch `Headers`. */
export type HeaderSource =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>

export interface RequestInfo {
  /** The request's `Cookie` header: one value, or all of them when the request carried several. */
  cookieHeader: string | readonly string[] | undefined
  /**
   * Whether the connection is HTTPS, as the framework reports it (decides `secure: 'auto'`). Read
   * only when a cookie goes out, so an adapter may make it a class's getter over a costly lookup.
   */
  readonly secure?: boolean
  /**
   * The request's headers, read (lazily, by lower-case name) for the `tokenHeader` transport and to
   * tell a WebSocket upgrade (`Upgrade: websocket`) from an ordinary request.
   */
  headers?: HeaderSource
  /**
   * Load the session as a WebSocket's: it can never send a cookie, so changes are refused unless
   * a server store holds a session the request carried. Set for you on `Upgrade: websocket`.
   */
  socket?: boolean
  /**
   * The request's own origin (`https://app.example`), where the adapter knows it better than its
   * `Host` header and `secure` tell; read only for WebSocket handshakes (`allowedOrigins`).
   */
  origin?: string
}

/**
 * What the engine may need to know of the response. `cacheControl` is read only when the session
 * emits something, so an adapter may make it a getter over a header that is costly to look up: a
 * class's getter, as an object literal with a getter gets a new hidden class each time it is made.
 */
export interface ResponseInfo {
  /** The response's current `Cache-Control`, made private when a cookie or token goes out (E10). */
  readonly cacheControl?: string | undefined
  /**
   * True once the response's head has gone out, or will, without the adapter's commit: a Fastify
   * reply hijacked or written on `reply.raw` (Nest's `@Sse()`), or one sent already. From then on
   * the session is read-only, as a WebSocket's: a change throws `ERR_SESSION_RESPONSE_SENT`
   * (a server-store session the request carried may still change, persisted by `save()`), and a
   * change made before, which the response never carried, is reported as an `unsent` event by the
   * late `commit()` the adapter calls once the response is over. Read at each change (pass the
   * response to `begin()`), so a getter over the framework's own flags costs nothing until then.
   */
  readonly sent?: boolean
}

export interface CommitResult {
  /** `Set-Cookie` values to append (never to replace the app's own). Empty: send nothing. */
  setCookie: string[]
  /** Other response headers to set, replacing any of the same name (the `tokenHeader` transport). */
  headers: ReadonlyArray<readonly [name: string, value: string]>
  /** When set, the value the response's `Cache-Control` must have, so shared caches keep out. */
  cacheControl?: string
}

/**
 * A WebSocket upgrade request: a Fetch `Request` (its own origin is its absolute `url`'s) or Node's
 * `IncomingMessage` (its `Host` header, and its scheme from `secure` when given, else from
 * `socket.encrypted`).
 */
export interface UpgradeRequest {
  headers: HeaderSource
  url?: string
  /** Node's socket: a TLS socket has `encrypted: true`. */
  socket?: object | null
  secure?: boolean
}

/** How an upgrade request arrived, for its own origin (`allowedOrigins`' default). */
function arrival(request: UpgradeRequest): Pick<RequestInfo, 'secure' | 'origin'> {
  const { url } = request
  // A Fetch Request's URL is absolute: its origin is the request's own, whatever its headers hold.
  if (typeof url === 'string' && /^https?:\/\//i.test(url)) {
    try {
      return { secure: /^https:/i.test(url), origin: new URL(url).origin }
    } catch {}
  }
  if (typeof request.secure === 'boolean') return { secure: request.secure }
  return { secure: (request.socket as { encrypted?: unknown } | null | undefined)?.encrypted === true }
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
  commit(response?: ResponseInfo): Promise<CommitResult>
  /**
   * `load()` without waiting, where nothing needs to be waited for: no session cookie, or a
   * cookie-store session whose seal opens synchronously (`node:crypto`, or a cached unseal). Else
   * `undefined`, and the session comes from `load()` (already under way: call it, do not start over).
   * Lets an adapter go on in the same tick, as the framework would without a session middleware.
   */
  loadSync(): Session<D> | undefined
  /**
   * `commit()` without waiting, where no store write and no asynchronous crypto is needed (nothing
   * to send, a clearing, or a seal on `node:crypto`). Else `undefined`, and the result comes from
   * `commit()` (already under way). Throws what `commit()` would reject with.
   */
  commitSync(response?: ResponseInfo): CommitResult | undefined
  /**
   * True when `commitSync()` will answer whatever the handler does: the session is loaded, lives
   * in the cookie and the crypto is synchronous (`node:crypto`). An adapter can then commit at the
   * moment the response's head is written instead of holding the response back.
   */
  readonly syncCommit: boolean
  /**
   * Calls `listener` once, when this request's commit may first have something to send or store:
   * as soon as the session is loaded if a rolling refresh or a re-seal under a newer key is due,
   * else at the first change made through the session (a write, a read that hands out an object,
   * `touch()`, `regenerate()`, `destroy()`, `bindUser()`, `save()`, `reload()`, a flash). Until then
   * `commitSync()` answers that nothing is to be sent. An adapter whose commit point costs
   * something to arm (Express wraps the response's methods) arms it then, and a request that never
   * changes its session pays nothing for it.
   */
  onChange(listener: () => void): void
  /**
   * The app assigned `value` where the adapter exposes the session: the logout idiom of koa-session
   * and cookie-session (`ctx.session = null`, `req.session = null`). `null` or `undefined` ends the
   * session as `destroy()` does (what cannot happen synchronously, the store delete or the
   * revocation, happens in `commit()`, whose failure then fails the request); the session object
   * itself changes nothing; anything else throws `ERR_SESSION_INVALID_STATE`, so the idiom never
   * silently does nothing. An adapter calls it from a setter, or after the handler when it finds
   * the exposed value changed (L10).
   */
  assign(value: unknown): void
  /** The loaded session; `undefined` until `load()` resolves. */
  readonly session: Session<D> | undefined
  /** The session cookie's name (what `getSession(name)` matches). */
  readonly cookieName: string
  /**
   * Runs `fn` (the rest of the request: the framework's `next`) inside this request's async
   * context, so `getSession()` from `@x/session-core/context` finds this session anywhere below.
   * Without that module loaded, it just calls `fn`.
   */
  run<T>(fn: () => T): T
}

export interface SessionManager<D extends object = SessionData> {
  /**
   * Starts a request's cycle. Synchronous and cheap: nothing is parsed or unsealed yet. Pass the
   * response when it can be sent past the adapter's commit point (see `ResponseInfo.sent`).
   */
  begin(request: RequestInfo, response?: ResponseInfo): SessionCycle<D>
  /** The session cookie's name. */
  readonly cookieName: string
  /**
   * The session of a WebSocket upgrade request (Node's `IncomingMessage` or a Fetch `Request`), for
   * the socket's handlers. Nothing is ever sent back: call `save()` to persist a change (server
   * stores), and `reload()` before relying on it, so a logout elsewhere is seen.
   */
  upgrade(request: UpgradeRequest): Promise<Session<D>>
  /** Ids of the live sessions bound to `user` (server stores with a per-user index). */
  listUserSessions(user: string): Promise<string[]>
  /**
   * Log out everywhere: ends every session bound to `user`. Server stores delete them; with
   * `revocations` configured, every cookie bound to the user and created before now stops
   * working too (the cookie store's only way to end a session it does not hold).
   */
  endUserSessions(user: string): Promise<void>
}

const NO_HEADERS: CommitResult = Object.freeze({ setCookie: [], headers: [] }) as unknown as CommitResult
const NO_DATA: Data = Object.freeze(nullData())
const NO_NAMES: readonly string[] = Object.freeze([])
const kEnded = Symbol('ended')

export function createSessionManager<D extends object = SessionData>(
  options: SessionOptions,
): SessionManager<D> {
  const opts = resolveOptions(options)
  const secret = options.secret ?? developmentSecret()
  const sealer = createSealer(secret, {
    cacheSize: options.unsealCacheSize ?? 1000,
  })
  // After the sealer accepted the secrets: only well-formed ones are judged.
  if (options.secret !== undefined)
    reportWeakSecrets(secret, (keyId) => opts.emit({ type: 'weak-secret', keyId }))
  const { store, revocations, clock, absoluteMs } = opts
  return {
    cookieName: opts.cookie.name,
    begin: (request, response) => new Cycle<D>(opts, sealer, request, response),
    upgrade(request) {
      const { headers } = request
      const info = {
        cookieHeader: cookieFrom(headers),
        headers,
        socket: true,
        ...arrival(request),
      }
      return new Cycle<D>(opts, sealer, info).load()
    },
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
      if (revocations) await revocations.set(userSubject(user), clock(), Math.ceil(absoluteMs / 1000))
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
  if ('manager' in source && source.manager !== undefined) {
    const others = Object.keys(source).filter((key) => key !== 'manager')
    if (others.length > 0) {
      throw new SessionError(
        SessionErrorCode.INVALID_OPTION,
        `pass either \`{ manager }\` or options, not both: \`${others[0]}\` would be ignored; give it to createSessionManager()`,
      )
    }
    return source.manager
  }
  return createSessionManager<D>(source as SessionOptions)
}

/** The revocation subject of every session bound to `user` (see `RevocationStore`). */
function userSubject(user: string): string {
  return `u:${user}`
}

/** The revocation subject of one cookie-store session, ended by `destroy()` or `regenerate()`. */
function sessionSubject(id: string): string {
  return `s:${id}`
}

function unsupported(message: string): SessionError {
  return new SessionError(SessionErrorCode.UNSUPPORTED, message)
}

/** A cookie of a library being left, as the request carried it, with the reader that opens it. */
interface LegacyCookie {
  entry: ResolvedOptions['adopt'][number]
  value: string
}

/** A commit that must seal (and maybe write the store) before it can answer. */
interface Step {
  /** A browser-session cookie: sent without Max-Age and Expires. */
  browser: boolean
  json: string
  now: number
  expiresAt: number
  changed: boolean
  due: boolean
}

/** How a request's token travels: as cookies (chunked), or in the configured request/response header. */
type Transport = 'cookie' | 'header'

/** The cookie (or header) side of a session: what the seal said, before the store is consulted. */
interface Claim {
  id: string
  createdAt: number
  refreshedAt: number
  /** Cookie store: the data sealed in. */
  data: Data | undefined
  user: string | undefined
  keyId: string | undefined
  /** The session's own lifetime sealed into the token, if it has one. */
  lifetime: Lifetime | undefined
  /** The token itself and the expiry iron sealed into it. */
  token: string
  tokenExpiresAt: number
}

class Cycle<D extends object> implements SessionCycle<D>, SessionHost {
  #opts: ResolvedOptions
  #sealer: Sealer
  #request: RequestInfo
  #response: ResponseInfo | undefined
  #transport: Transport = 'cookie'
  #present: readonly string[] = NO_NAMES
  /** Cookies of a library being left (`adopt`), read only when the request carries no session of this one. */
  #legacy: readonly LegacyCookie[] | undefined
  /** The legacy session carried over into this request's session: retired once the commit is done. */
  #adopted: LegacyCookie | undefined
  /** What the request carries, read once: its token, the time it was read, whether it is a socket. */
  #prelude: { value: string | undefined; now: number; socket: boolean } | undefined
  /** A claim the synchronous path opened but could not finish (it needs the store). */
  #claim: Claim | undefined
  #state: Promise<SessionState> | undefined
  #resolved: SessionState | undefined
  #session: Promise<Session<D>> | undefined
  #onChange: (() => void) | undefined
  #loaded: Session<D> | undefined
  #commit: Promise<CommitResult> | undefined
  /** What a synchronous commit answered. */
  #committed: CommitResult | undefined
  /** A session ended by `assign(null)` whose record or revocation `commit()` must still write. */
  #pendingEnd: { id: string; createdAt: number } | undefined

  constructor(opts: ResolvedOptions, sealer: Sealer, request: RequestInfo, response?: ResponseInfo) {
    this.#opts = opts
    this.#sealer = sealer
    this.#request = request
    this.#response = response
  }

  /** The response went out past the adapter's commit point: nothing can reach the client any more. */
  #sent(): boolean {
    return this.#response?.sent === true
  }

  get loaded() {
    return this.#resolved !== undefined || this.#state !== undefined
  }

  get session() {
    return this.#loaded
  }

  get cookieName() {
    return this.#opts.cookie.name
  }

  get syncCommit() {
    const state = this.#resolved
    // With revocations, `assign(null)` leaves a revocation for the commit to write: it may have to wait.
    return (
      state !== undefined &&
      !state.socket &&
      !this.#opts.store &&
      !this.#opts.revocations &&
      this.#sealer.sealSync !== undefined &&
      !this.#legacy?.length
    )
  }

  load(): Promise<Session<D>> {
    if (!this.#session) {
      const loaded = this.loadSync()
      // Promises only for callers that ask for one: the synchronous path allocates none.
      if (loaded) this.#session = Promise.resolve(loaded)
    }
    return this.#session as Promise<Session<D>>
  }

  loadSync(): Session<D> | undefined {
    if (this.#loaded !== undefined || this.#state !== undefined) return this.#loaded
    const state = this.#readSync()
    if (state) return this.#settle(state)
    this.#state = this.#read()
    this.#session = this.#state.then((later) => this.#settle(later))
    return undefined
  }

  #settle(state: SessionState): Session<D> {
    this.#resolved = state
    this.#loaded = createSession<D>(state, this)
    const listener = this.#onChange
    if (listener !== undefined) {
      this.#onChange = undefined
      this.#watch(state, listener)
    }
    return this.#loaded
  }

  onChange(listener: () => void): void {
    const state = this.#resolved
    if (state === undefined) this.#onChange = listener
    else this.#watch(state, listener)
  }

  /** Calls `listener` now if the commit may already send something, else at the first change. */
  #watch(state: SessionState, listener: () => void): void {
    const pending =
      state.dirty ||
      state.forceEmit ||
      state.forceRefresh ||
      state.pendingWrite ||
      state.status === 'destroyed' ||
      (!state.isNew && (this.#refreshDue(state) || this.#rotationDue(state)))
    if (pending) listener()
    else state.onChange = listener
  }

  /** A rolling refresh is due, judged by the time the request was read (so load and commit agree). */
  #refreshDue(state: SessionState): boolean {
    const { idleMs } = this.#timeouts(state.lifetime)
    const rollingMs = rollingOf(state.lifetime, this.#opts.rollingMs, idleMs)
    return (this.#prelude?.now ?? this.#opts.clock()) - state.refreshedAt >= rollingMs
  }

  /** The cookie was sealed under an older key: the response re-seals it under the newest (K3). */
  #rotationDue(state: SessionState): boolean {
    return state.keyId !== undefined && state.keyId !== this.#sealer.currentKeyId
  }

  assign(value: unknown): void {
    const state = this.#resolved
    if (value === this.#loaded && value !== undefined) return
    if (state === undefined) {
      throw new SessionError(
        SessionErrorCode.INVALID_STATE,
        'the session cannot be replaced before it is loaded',
      )
    }
    if (value !== null && value !== undefined) {
      throw new SessionError(
        SessionErrorCode.INVALID_STATE,
        'a session cannot be replaced: assign null to end it (as destroy() does), or change its keys',
      )
    }
    if (state.status === 'destroyed') return
    if (state.failure !== undefined) throw state.failure
    if (state.socket && !this.#opts.store) this.assertWritable(state, 'end the session')
    const { store, revocations } = this.#opts
    // Set before the change is announced, so an adapter arming its commit sees that it must wait.
    if (!state.isNew && state.status === 'active' && (store || revocations))
      this.#pendingEnd = { id: state.id, createdAt: state.createdAt }
    changing(state)
    this.#ended(state)
  }

  run<T>(fn: () => T): T {
    const runner = (globalThis as Record<symbol, ContextRunner | undefined>)[kContextRunner]
    return runner ? runner.run(this as SessionCycle<object>, fn) : fn()
  }

  commit(response: ResponseInfo = {}): Promise<CommitResult> {
    this.#commit ??=
      this.#committed === undefined ? this.#reported(this.#write(response)) : Promise.resolve(this.#committed)
    return this.#commit
  }

  commitSync(response: ResponseInfo = {}): CommitResult | undefined {
    if (this.#commit !== undefined || this.#committed !== undefined) return undefined
    let outcome: CommitResult | Promise<CommitResult>
    try {
      outcome = this.#writeSync(response)
    } catch (error) {
      this.#commit = this.#reported(Promise.reject(error))
      // The caller gets the error thrown; the promise kept for commit() must not count as unhandled.
      this.#commit.catch(() => {})
      throw error
    }
    if (outcome instanceof Promise) {
      this.#commit = this.#reported(outcome)
      return undefined
    }
    // A promise only if commit() is asked for it too.
    this.#committed = outcome
    return outcome
  }

  #reported(pending: Promise<CommitResult>): Promise<CommitResult> {
    return pending.catch((error: unknown) => {
      // Some frameworks have nowhere to report an error raised after the handler: say it here.
      this.#opts.emit({ type: 'commit-error', code: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' })
      throw error
    })
  }

  // --- load ---------------------------------------------------------------------------------

  #fresh(now: number, socket: boolean): SessionState {
    // The id is drawn when first needed: most requests without a session never need one. The data
    // is one shared, frozen empty object until the first change gives the request its own.
    const state = new State('', true, now, now, NO_DATA, '{}', 0, undefined, undefined, socket)
    state.borrowed = true
    return state
  }

  /** The token the request carries, from the header transport when it is used, else the cookie. */
  #token(): string | undefined {
    const { tokenHeader, cookie, maxChunks } = this.#opts
    const headers = this.#request.headers
    if (tokenHeader) {
      const raw = headerOf(headers, tokenHeader.key)
      if (raw !== undefined || !tokenHeader.cookie) {
        this.#transport = 'header'
        // Repeated headers join with ',', which no seal contains: they fail as malformed.
        const value = typeof raw === 'string' ? raw.trim() : raw?.join(',')
        return value === '' ? undefined : value
      }
    }
    const { value, present } = readSessionCookie(this.#request.cookieHeader, cookie.name, maxChunks)
    this.#present = present
    return value
  }

  #readPrelude(): { value: string | undefined; now: number; socket: boolean } {
    if (this.#prelude === undefined) {
      const socket = this.#request.socket ?? isWebSocketUpgrade(this.#request.headers)
      this.#prelude = {
        value: socket && !this.#originAllowed() ? undefined : this.#token(),
        now: this.#opts.clock(),
        socket,
      }
    }
    return this.#prelude
  }

  /** `scheme://host` of the request itself, lower-case, from `origin` or from `Host` and `secure`. */
  #ownOrigin(): string | undefined {
    const { origin, headers } = this.#request
    if (typeof origin === 'string') return origin.toLowerCase()
    // HTTP/2 names the host `:authority`; a Fetch `Headers` would throw on that name.
    const host =
      headerOf(headers, 'host') ??
      (headers !== undefined && typeof headers.get !== 'function'
        ? headerOf(headers, ':authority')
        : undefined)
    if (typeof host !== 'string') return undefined
    return `${this.#request.secure === true ? 'https' : 'http'}://${host.toLowerCase()}`
  }

  /**
   * Whether a WebSocket handshake may carry the session (W1): a browser sends the cookie on a
   * handshake whatever page opened it, so only `Origin` tells the app's own pages from another site's.
   */
  #originAllowed(): boolean {
    const origin = headerOf(this.#request.headers, 'origin')
    // No browser omits it on a WebSocket handshake: without one it is no cross-site request.
    if (origin === undefined) return true
    if (typeof origin === 'string' && this.#opts.originAllowed(origin, this.#ownOrigin())) return true
    this.#opts.emit({ type: 'origin-refused', origin: String(origin), cookie: this.#opts.cookie.name })
    return false
  }

  /** The session, when it can be had without waiting; see `loadSync()`. */
  #readSync(): SessionState | undefined {
    const { value, now, socket } = this.#readPrelude()
    if (value === undefined)
      return this.#legacyCookies(socket).length > 0 ? undefined : this.#fresh(now, socket)
    const { absoluteMs, store, revocations } = this.#opts
    const unsealed =
      this.#sealer.unsealSync?.(value, now, absoluteMs) ?? this.#sealer.unsealCached(value, now, absoluteMs)
    if (!unsealed) return undefined
    const claim = this.#open(unsealed, value)
    if (!claim) return this.#fresh(now, socket)
    // With revocations every cookie-store session is checked (`s:<id>`, and `u:<user>` when bound):
    // only apps that configure them pay for the round trip.
    if (store || revocations) {
      this.#claim = claim
      // A store holding the record in this process (memory store) answers in this tick; anything
      // else it would have to say (a miss, an expiry to delete) goes the asynchronous way.
      const record = revocations ? undefined : this.#peek(claim.id)
      if (
        record === undefined ||
        this.#expiredReason(record.createdAt, record.refreshedAt, now, claim.lifetime)
      )
        return undefined
      return this.#build(claim, record, now, socket) as SessionState
    }
    const built = this.#build(claim, undefined, now, socket)
    return built === kEnded ? this.#fresh(now, socket) : built
  }

  /** The store's synchronous answer for `id` (`SessionStore.peek`), when it has one that is a record. */
  #peek(id: string): StoredSession | undefined {
    try {
      const record = (this.#opts.store as Partial<PeekableStore> | undefined)?.peek?.(id)
      return isRecord(record) ? record : undefined
    } catch {
      return undefined
    }
  }

  async #read(): Promise<SessionState> {
    const { value, now, socket } = this.#readPrelude()
    if (value === undefined) return this.#adopt(now, socket)
    const claim =
      this.#claim ?? this.#open(await this.#sealer.unseal(value, now, this.#opts.absoluteMs), value)
    if (!claim) return this.#fresh(now, socket)
    this.#claim = claim
    let state: SessionState | typeof kEnded
    try {
      state = await this.#resolve(claim, now, socket)
    } catch (error) {
      return this.#storeFailed(error, now, socket)
    }
    return state === kEnded ? this.#fresh(now, socket) : state
  }

  /** The legacy cookies (`adopt`) of a request that carries no session of this library. */
  #legacyCookies(socket: boolean): readonly LegacyCookie[] {
    if (this.#legacy === undefined) {
      const found: LegacyCookie[] = []
      // A socket can never be sent the new cookie, nor a header-transport client the clearing.
      if (!socket && this.#transport === 'cookie') {
        for (const entry of this.#opts.adopt) {
          const { value } = readSessionCookie(this.#request.cookieHeader, entry.reader.cookieName, 0)
          if (value !== undefined) found.push({ entry, value })
        }
      }
      this.#legacy = found
    }
    return this.#legacy
  }

  /**
   * A new session, carrying over the first legacy session the request's old cookies name (X:
   * migrating from another library). A reader that throws (its store is down) fails the load as a
   * store failure does.
   */
  async #adopt(now: number, socket: boolean): Promise<SessionState> {
    const state = this.#fresh(now, socket)
    for (const legacy of this.#legacyCookies(socket)) {
      let adopted: AdoptedSession | undefined
      try {
        adopted = await legacy.entry.reader.read(legacy.value, now)
      } catch (error) {
        return this.#storeFailed(error, now, socket)
      }
      const source = adopted !== undefined && isPlainObject(adopted.data) ? adopted.data : undefined
      this.#opts.emit({
        type: 'legacy',
        from: legacy.entry.reader.name,
        outcome: source ? 'adopted' : 'no-session',
      })
      if (!source) continue
      const data = loadedData(source)
      markDirty(state)
      for (const key of Object.keys(data)) if (!RESERVED_KEYS.has(key)) state.data[key] = data[key]
      this.#adopted = legacy
      break
    }
    return state
  }

  /** What an unsealed token claims, or `undefined` (with the reason reported) when it is no session. */
  #open(unsealed: UnsealResult, token: string): Claim | undefined {
    const { cookie, store, emit } = this.#opts
    if (!unsealed.ok) {
      if (unsealed.reason === 'unknown-key') {
        // A newer deploy sealed it: this instance cannot read it, but must not delete it either.
        emit({ type: 'unknown-key', keyId: unsealed.keyId ?? '', cookie: cookie.name })
      } else if (unsealed.reason === 'expired') {
        emit({ type: 'expired', reason: 'lifetime', cookie: cookie.name })
      } else {
        emit({ type: 'invalid', reason: unsealed.reason, cookie: cookie.name })
      }
      return undefined
    }
    const payload = readPayload(unsealed.payload, cookie.name, store === undefined)
    if (!payload) {
      emit({ type: 'invalid', reason: 'bad-payload', cookie: cookie.name })
      return undefined
    }
    return {
      id: payload.id,
      createdAt: payload.c,
      refreshedAt: payload.r,
      data: payload.d,
      user: payload.u,
      keyId: unsealed.keyId,
      token,
      lifetime: payload.l,
      tokenExpiresAt: unsealed.expiresAt,
    }
  }

  /**
   * Checks a claim against the store, the revocations and the clock, and returns the session it
   * names, or `kEnded` (with the reason reported). Store errors are thrown as they are.
   */
  async #resolve(claim: Claim, now: number, socket: boolean): Promise<SessionState | typeof kEnded> {
    const { cookie, store, emit, revocations } = this.#opts
    let record: StoredSession | undefined
    if (store) {
      record = await store.get(claim.id)
      if (!isRecord(record)) {
        emit({ type: 'invalid', reason: 'not-found', cookie: cookie.name })
        return kEnded
      }
    }
    if (revocations) {
      const user = record ? record.user : claim.user
      // Server stores end one session by deleting its record; only the cookie store needs `s:<id>`.
      const subjects =
        user === undefined ? [sessionSubject(claim.id)] : [sessionSubject(claim.id), userSubject(user)]
      if (store) subjects.shift()
      if (subjects.length > 0) {
        // One round trip for both subjects, whatever the store.
        const times = await revocations.get(subjects)
        const createdAt = record ? record.createdAt : claim.createdAt
        if (times.some((notBefore) => notBefore !== undefined && createdAt < notBefore)) {
          emit({ type: 'revoked', cookie: cookie.name })
          return kEnded
        }
      }
    }
    const built = this.#build(claim, record, now, socket)
    if (built === kEnded && store) {
      // Met an expired record: delete it now rather than wait for the store's ttl (X7).
      await store
        .delete(claim.id)
        .catch((error: unknown) => emit({ type: 'store-error', operation: 'delete', error }))
    }
    return built
  }

  /** The session a checked claim (and its record) make, or `kEnded` when its time is up. */
  #build(
    claim: Claim,
    record: StoredSession | undefined,
    now: number,
    socket: boolean,
  ): SessionState | typeof kEnded {
    const user = record ? record.user : claim.user
    const createdAt = record ? record.createdAt : claim.createdAt
    const refreshedAt = record ? record.refreshedAt : claim.refreshedAt
    const expired = this.#expiredReason(createdAt, refreshedAt, now, claim.lifetime)
    if (expired) {
      this.#opts.emit({ type: 'expired', reason: expired, cookie: this.#opts.cookie.name })
      return kEnded
    }
    const source = record ? record.data : claim.data
    // A frozen source is shared: a cached unseal's, or a record a store's `peek` hands every reader.
    const shared = source !== undefined && Object.isFrozen(source) ? sharedData(source) : undefined
    const version = record ? record.version : 0
    const bound = typeof user === 'string' ? user : undefined
    const state = new State(
      claim.id,
      false,
      createdAt,
      refreshedAt,
      shared ? shared.data : loadedData(source),
      shared?.json,
      version,
      bound,
      claim.keyId,
      socket,
    )
    state.borrowed = shared !== undefined
    state.lifetime = claim.lifetime
    return state
  }

  #storeFailed(error: unknown, now: number, socket: boolean): SessionState {
    this.#opts.emit({ type: 'store-error', operation: 'get', error })
    const state = this.#fresh(now, socket)
    if (this.#opts.onStoreError === 'anonymous') {
      state.readOnly = true
    } else {
      state.status = 'failed'
      state.failure = storeError(error)
    }
    return state
  }

  #expiredReason(
    createdAt: number,
    refreshedAt: number,
    now: number,
    lifetime: Lifetime | undefined,
  ): 'idle' | 'absolute' | undefined {
    const { idleMs, absoluteMs } = this.#timeouts(lifetime)
    if (now >= createdAt + absoluteMs) return 'absolute'
    if (now >= refreshedAt + idleMs) return 'idle'
    return undefined
  }

  /** The idle and absolute timeouts (ms) of a session with `lifetime`. */
  #timeouts(lifetime: Lifetime | undefined): { idleMs: number; absoluteMs: number } {
    return timeoutsOf(lifetime, this.#opts.idleMs, this.#opts.absoluteMs)
  }

  expiresAt(state: SessionState): number {
    const { idleMs, absoluteMs } = this.#timeouts(state.lifetime)
    return Math.min(state.refreshedAt + idleMs, state.createdAt + absoluteMs)
  }

  setLifetime(
    state: SessionState,
    request: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  ): void {
    const lifetime = lifetimeFrom(request ?? {}, Math.floor(this.#opts.absoluteMs / 1000))
    if (typeof lifetime === 'string')
      throw new SessionError(SessionErrorCode.INVALID_OPTION, `setLifetime(): ${lifetime}`)
    this.assertWritable(state, 'change the lifetime')
    const next = Object.keys(lifetime).length === 0 ? undefined : lifetime
    if (sameLifetime(next, state.lifetime)) return
    state.lifetime = next
    // A new lifetime is a new seal (it lives in the token) and, with a server store, a new ttl.
    state.forceEmit = true
    state.pendingWrite = true
  }

  // --- operations the session calls ------------------------------------------------------

  idOf(state: SessionState): string {
    if (state.id === '') state.id = generateSessionId()
    return state.id
  }

  assertWritable(state: SessionState, what: string): void {
    if (!state.socket && !this.#sent()) return
    if (this.#opts.store && !state.isNew && state.status === 'active') return
    if (!state.socket) {
      throw new SessionError(
        SessionErrorCode.RESPONSE_SENT,
        this.#opts.store
          ? `cannot ${what} after the response went out without the session (a hijacked or raw-written reply, such as a stream): this request carried no live session to change; change it before the response starts`
          : `cannot ${what} after the response went out without the session (a hijacked or raw-written reply, such as a stream): no cookie can reach the client any more; change it before the response starts, or use a server store and save()`,
      )
    }
    throw new SessionError(
      SessionErrorCode.SOCKET_READ_ONLY,
      this.#opts.store
        ? `cannot ${what} over this WebSocket: the upgrade request carried no live session, and no cookie can reach the client mid-connection; change it over HTTP`
        : `cannot ${what} over a WebSocket with the cookie store: no cookie can reach the client mid-connection; change it over HTTP, or use a server store`,
    )
  }

  async regenerate(state: SessionState, keep: boolean): Promise<void> {
    if (!state.socket && this.#sent()) {
      throw new SessionError(
        SessionErrorCode.RESPONSE_SENT,
        'cannot regenerate() after the response went out without the session: the new id could never reach the client; regenerate before the response starts',
      )
    }
    if (state.socket) {
      throw new SessionError(
        SessionErrorCode.SOCKET_READ_ONLY,
        'cannot regenerate() over a WebSocket: the new id could never reach the client; regenerate over HTTP',
      )
    }
    if (!state.isNew && state.status === 'active') await this.#end(state.id, state.createdAt)
    const now = this.#opts.clock()
    state.id = generateSessionId()
    state.isNew = true
    state.version = 0
    state.createdAt = now
    state.refreshedAt = now
    state.status = 'active'
    state.forceEmit = true
    if (!keep) {
      markDirty(state)
      state.data = nullData()
    }
  }

  async destroy(state: SessionState): Promise<void> {
    // Over a socket a server record can end (logout), but a cookie-store session could not be cleared.
    if ((state.socket || this.#sent()) && !this.#opts.store) this.assertWritable(state, 'destroy()')
    if (!state.isNew && state.status === 'active') await this.#end(state.id, state.createdAt)
    this.#ended(state)
  }

  #ended(state: SessionState): void {
    state.status = 'destroyed'
    // Like a session ended elsewhere and then reloaded: it holds nothing stored any more.
    state.isNew = true
    markDirty(state)
    state.data = nullData()
  }

  async reload(state: SessionState): Promise<void> {
    if (state.isNew || state.status !== 'active' || state.readOnly) return
    const now = this.#opts.clock()
    const claim: Claim = {
      id: state.id,
      createdAt: state.createdAt,
      refreshedAt: state.refreshedAt,
      // The cookie store holds nothing newer than the request's own seal: unsaved changes are dropped.
      data: state.dirty ? (JSON.parse(snapshotOf(state)) as Data) : state.data,
      user: state.user,
      keyId: state.keyId,
      lifetime: state.lifetime,
      // Read again from the store, not from a token: nothing here is sent back as it came.
      token: '',
      tokenExpiresAt: 0,
    }
    let next: SessionState | typeof kEnded
    try {
      next = await this.#resolve(claim, now, state.socket)
    } catch (error) {
      this.#opts.emit({ type: 'store-error', operation: 'get', error })
      throw storeError(error)
    }
    if (next === kEnded) {
      // Ended elsewhere (a logout, an expiry): empty from now on, and nothing brings it back.
      Object.assign(state, this.#fresh(now, state.socket), { status: 'destroyed' })
      return
    }
    Object.assign(state, next)
  }

  async save(state: SessionState): Promise<void> {
    const { store, clock } = this.#opts
    if (state.status !== 'active' || state.readOnly) return
    const json = state.dirty ? serialize(state.data) : undefined
    const changed = (json !== undefined && json !== snapshotOf(state)) || state.pendingWrite
    if (state.socket || this.#sent()) {
      if (!changed) return
      this.assertWritable(state, 'save a change')
    }
    if (!store || (!changed && !state.isNew)) return
    const now = clock()
    state.refreshedAt = now
    if (!(await this.#persist(state, json ?? snapshotOf(state), now))) {
      state.status = 'destroyed'
      return
    }
    // The browser needs the cookie with the new expiry; commit sends it.
    state.forceEmit = true
  }

  /**
   * Ends the session the request carried, everywhere, before anything is sent: a server store
   * deletes its record; the cookie store, which holds nothing to delete, revokes its id when a
   * revocation store is configured (L9), so a copy of the cookie is no session either. Without one
   * only the browser's cookie is cleared (by the commit) and a copy stays valid until it expires.
   * A failure throws: a logout must never look done when it is not.
   */
  async #end(id: string, createdAt: number): Promise<void> {
    const { store, revocations, emit, clock, absoluteMs } = this.#opts
    if (store) {
      try {
        await store.delete(id)
      } catch (error) {
        emit({ type: 'store-error', operation: 'delete', error })
        throw storeError(error)
      }
      return
    }
    if (!revocations) return
    const now = clock()
    // Until the token would have ended anyway: nothing sealed for this id outlives its absolute limit.
    const ttl = Math.max(1, Math.ceil((createdAt + absoluteMs - now) / 1000))
    try {
      // Later than its creation even within the same millisecond, so the check `createdAt < notBefore` holds.
      await revocations.set(sessionSubject(id), Math.max(now, createdAt + 1), ttl)
    } catch (error) {
      emit({ type: 'store-error', operation: 'revoke', error })
      // A store's own refusal (it is full) keeps its code; anything else is an outage.
      throw SessionError.is(error)
        ? error
        : storeError(error, 'the revocation store is unavailable: the session was not ended')
    }
  }

  // --- commit ------------------------------------------------------------------------------

  async #write(response: ResponseInfo): Promise<CommitResult> {
    // Judged when the commit is asked for, before anything is awaited: an adapter that holds the
    // response's head for this commit (Express) reports it as sent from then on.
    const result = await this.#written(response, this.#sent())
    return this.#legacy?.length ? this.#retireLegacy(result, response) : result
  }

  /**
   * The old library's cookies are cleared on this response, read or not, and a session carried
   * over is ended there (after this library's session was stored), so its cookie cannot be replayed.
   */
  async #retireLegacy(result: CommitResult, response: ResponseInfo): Promise<CommitResult> {
    const adopted = this.#adopted
    if (adopted?.entry.reader.retire) {
      try {
        await adopted.entry.reader.retire(adopted.value)
      } catch (error) {
        // The new session is already stored and sent: an old one left behind only lives out its time.
        this.#opts.emit({ type: 'store-error', operation: 'delete', error })
      }
    }
    const secure = this.#request.secure === true
    const clears = (this.#legacy ?? []).flatMap(({ entry }) =>
      clearSessionCookie(entry.cookie, [entry.reader.cookieName], secure),
    )
    return {
      setCookie: [...result.setCookie, ...clears],
      headers: result.headers,
      cacheControl: result.cacheControl ?? privateCacheControl(response.cacheControl),
    }
  }

  async #written(response: ResponseInfo, sent: boolean): Promise<CommitResult> {
    const state = this.#resolved ?? (await this.#state)
    if (!state) return NO_HEADERS
    const ending = this.#pendingEnd
    if (ending !== undefined) {
      this.#pendingEnd = undefined
      await this.#end(ending.id, ending.createdAt)
    }
    if (state.socket) {
      // Nothing can be sent to a socket's client: what changed is saved, as `save()` would.
      await this.save(state)
      return NO_HEADERS
    }
    if (sent) return this.#writeUnsent(state)
    const step = this.#prepare(state, response)
    return 'setCookie' in step ? step : this.#finish(state, step, response)
  }

  /** `commit()` in this tick where it can be: a result, or the promise of one when something waits. */
  #writeSync(response: ResponseInfo): CommitResult | Promise<CommitResult> {
    if (this.#legacy?.length) return this.#write(response)
    const state = this.#resolved
    if (!state) return this.#state === undefined ? NO_HEADERS : this.#write(response)
    if (state.socket || this.#sent() || this.#pendingEnd !== undefined) return this.#write(response)
    const step = this.#prepare(state, response)
    if ('setCookie' in step) return step
    const { sealSync } = this.#sealer
    if (this.#opts.store || !sealSync) return this.#finish(state, step, response)
    return this.#emit(step, sealSync(this.#payload(state, step.json), step.expiresAt), response)
  }

  /**
   * The late commit of a response that went out without the session: a server-store session the
   * request carried keeps what changed (the cookie it has still names it); anything else that
   * needed the response (a new or regenerated session, a cookie-store change, a logout's clearing)
   * is reported, as nothing can be thrown to anyone any more.
   */
  async #writeUnsent(state: SessionState): Promise<CommitResult> {
    const { store, emit, cookie } = this.#opts
    if (state.status === 'failed' || state.readOnly) return NO_HEADERS
    if (store && !state.isNew && state.status === 'active') {
      await this.save(state)
      return NO_HEADERS
    }
    const lost =
      state.status === 'destroyed'
        ? !store
        : state.forceEmit ||
          state.pendingWrite ||
          (state.dirty && serialize(state.data) !== snapshotOf(state))
    if (lost) emit({ type: 'unsent', cookie: cookie.name })
    return NO_HEADERS
  }

  /** Decides what the response must carry: the final result, or the step that needs sealing (and the store). */
  #prepare(state: SessionState, response: ResponseInfo): CommitResult | Step {
    const opts = this.#opts
    if (state.status === 'failed' || state.readOnly) return NO_HEADERS
    if (state.status === 'destroyed') return this.#clear(response)
    // A new session nobody wrote to: no serializing, no id, nothing to send (E1, E2).
    if (state.isNew && !state.forceEmit && isEmpty(state.data)) return NO_HEADERS

    // Nothing that could change the data happened: no need to serialize it to find out.
    const json = state.dirty ? serialize(state.data) : undefined
    const changed = json !== undefined && json !== snapshotOf(state)
    if (state.isNew && !changed && !state.forceEmit) return NO_HEADERS
    const now = opts.clock()
    const due = state.forceRefresh || this.#refreshDue(state)
    const rotate = this.#rotationDue(state)
    if (!changed && !due && !rotate && !state.forceEmit) return NO_HEADERS

    // A key rotation alone re-seals without sliding the idle window: loading never extends a session.
    if (changed || due || state.forceEmit) state.refreshedAt = now
    const expiresAt = this.expiresAt(state)
    if (expiresAt <= now) return this.#clear(response)
    return { json: json ?? snapshotOf(state), now, expiresAt, changed, due, browser: state.lifetime?.b === 1 }
  }

  async #finish(state: SessionState, step: Step, response: ResponseInfo): Promise<CommitResult> {
    const { store } = this.#opts
    if (store) {
      if (step.changed || state.isNew || state.pendingWrite) {
        if (!(await this.#persist(state, step.json, step.now))) return this.#clear(response)
      } else if (step.due) {
        await this.#touch(state, step.expiresAt, step.now)
      }
    }
    const token =
      this.#reusableToken(state, step) ??
      (await this.#sealer.seal(this.#payload(state, step.json), this.#sealExpiry(state, step)))
    return this.#emit(step, token, response)
  }

  /**
   * Server stores: the token only names the session (the store holds its data and its times), so
   * it is sealed to last the session's whole absolute lifetime and sent again unchanged while it
   * names the same id under the newest key: a write seals nothing. The cookie store's token is the
   * data, and its expiry is the session's.
   */
  #sealExpiry(state: SessionState, step: Step): number {
    return this.#opts.store ? state.createdAt + this.#timeouts(state.lifetime).absoluteMs : step.expiresAt
  }

  /** The request's own token, when a server-store response can carry it again as it is. */
  #reusableToken(state: SessionState, step: Step): string | undefined {
    const claim = this.#claim
    if (
      !this.#opts.store ||
      claim === undefined ||
      state.isNew ||
      claim.id !== state.id ||
      claim.user !== state.user ||
      claim.keyId !== this.#sealer.currentKeyId ||
      !sameLifetime(claim.lifetime, state.lifetime) ||
      claim.tokenExpiresAt < step.expiresAt
    ) {
      return undefined
    }
    return claim.token
  }

  /**
   * The sealed payload's JSON ({@link Payload}), around `dataJson`: the data as the commit just
   * serialized it, which the seal then does not serialize a second time.
   */
  #payload(state: SessionState, dataJson: string): SerializedJson {
    const { store, cookie } = this.#opts
    return new SerializedJson(
      payloadJson({
        id: this.idOf(state),
        cookieName: cookie.name,
        createdAt: state.createdAt,
        refreshedAt: state.refreshedAt,
        dataJson: store ? undefined : dataJson,
        user: state.user,
        lifetime: state.lifetime,
      }),
    )
  }

  /** The headers that carry `token`: the cookie (chunked as needed), or the token header. */
  #emit(step: Step, token: string, response: ResponseInfo): CommitResult {
    const opts = this.#opts
    const { now, expiresAt } = step
    if (this.#transport === 'header') {
      if (token.length > opts.maxTotalSize) {
        throw new SessionError(
          SessionErrorCode.TOO_LARGE,
          `the session token takes ${token.length} bytes, over the ${opts.maxTotalSize}-byte limit; store less data in it or use a server store`,
        )
      }
      return this.#sendHeader(token, response)
    }
    const maxAge = step.browser ? undefined : Math.min(MAX_COOKIE_AGE, Math.floor((expiresAt - now) / 1000))
    const setCookie = serializeSessionCookie(
      opts.cookie,
      token,
      maxAge,
      maxAge === undefined ? undefined : new Date(now + maxAge * 1000),
      this.#present,
      this.#request.secure === true,
      {
        maxChunks: opts.maxChunks,
        maxTotal: opts.maxTotalSize,
      },
    )
    return { setCookie, headers: [], cacheControl: privateCacheControl(response.cacheControl) }
  }

  /** Header transport: the token, or an empty value that tells the client to drop its own. */
  #sendHeader(token: string, response: ResponseInfo): CommitResult {
    const name = (this.#opts.tokenHeader as { name: string }).name
    return {
      setCookie: [],
      headers: [[name, token]],
      cacheControl: privateCacheControl(response.cacheControl),
    }
  }

  #clear(response: ResponseInfo): CommitResult {
    if (this.#transport === 'header') return this.#sendHeader('', response)
    const setCookie = clearSessionCookie(this.#opts.cookie, this.#present, this.#request.secure === true)
    return setCookie.length
      ? { setCookie, headers: [], cacheControl: privateCacheControl(response.cacheControl) }
      : NO_HEADERS
  }

  async #touch(state: SessionState, expiresAt: number, now: number): Promise<void> {
    const { store, emit } = this.#opts
    if (!store) return
    const ttl = Math.ceil((expiresAt - now) / 1000)
    try {
      if (store.touch) await store.touch(state.id, ttl, state.refreshedAt)
      else await this.#persist(state, snapshotOf(state), now)
    } catch (error) {
      emit({ type: 'store-error', operation: 'touch', error })
      throw storeError(error)
    }
  }

  /**
   * The error a failed write ends the request with. A store that refuses the data (over its
   * `maxDataSize`) has answered, not failed: its error goes to the app as it is, not as a 503.
   */
  #setFailed(error: unknown): SessionError {
    if (SessionError.is(error) && error.code === SessionErrorCode.TOO_LARGE) return error
    this.#opts.emit({ type: 'store-error', operation: 'set', error })
    return storeError(error)
  }

  /**
   * Hands the store the keys this request changed, to merge into what it holds in one atomic
   * step: requests of one session that write at once never conflict, never re-read, never wait.
   */
  async #apply(state: SessionState, json: string, now: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil((this.expiresAt(state) - now) / 1000))
    const change = changeOf(snapshotOf(state), state.data, state.refreshedAt)
    if (state.pendingWrite) change.bind = { user: state.user }
    let version: number | undefined
    try {
      version = await this.#opts.store?.apply?.(this.idOf(state), change, { ttl })
    } catch (error) {
      throw this.#setFailed(error)
    }
    if (version === undefined) return false
    state.pendingWrite = false
    state.version = version
    state.snapshot = json
    return true
  }

  /**
   * Saves the session. A store with `apply` merges this request's changes itself; otherwise a
   * version-checked save that, on conflict, re-reads and re-applies only the keys this request
   * changed, so parallel requests writing different keys all persist. Returns false when the
   * record was deleted meanwhile (a logout): a slow request must not bring the session back.
   */
  async #persist(state: SessionState, json: string, now: number): Promise<boolean> {
    const { store, emit } = this.#opts
    if (!store) return true
    if (store.apply && !state.isNew) return this.#apply(state, json, now)
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
        result = await store.set(this.idOf(state), record, { ttl, expectVersion: state.version })
      } catch (error) {
        throw this.#setFailed(error)
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
      state.data = reapply(loadedData(fresh.data), snapshotOf(state), state.data)
      json = serialize(state.data)
      state.snapshot = JSON.stringify(loadedData(fresh.data))
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
  if (isProduction()) {
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

/** A request's session state: a class, so every state has one shape and is cheap to make. */
class State implements SessionState {
  onChange: (() => void) | undefined = undefined
  status: SessionState['status'] = 'active'
  failure: SessionError | undefined = undefined
  readOnly = false
  forceEmit = false
  forceRefresh = false
  pendingWrite = false
  dirty = false
  borrowed = false
  lifetime: Lifetime | undefined = undefined

  constructor(
    public id: string,
    public isNew: boolean,
    public createdAt: number,
    public refreshedAt: number,
    public data: Data,
    public snapshot: string | undefined,
    public version: number,
    public user: string | undefined,
    public keyId: string | undefined,
    public socket: boolean,
  ) {}
}

/**
 * Session data made once per cached unseal (a frozen payload the sealer shares between the
 * requests that carry the same cookie), with its JSON: a request that only reads it copies and
 * serializes nothing. Entries go when the sealer forgets the token.
 */
const sharedByPayload = new WeakMap<object, { data: Data; json: string }>()

function sharedData(source: object): { data: Data; json: string } {
  let shared = sharedByPayload.get(source)
  if (shared === undefined) {
    const data = Object.freeze(loadedData(source))
    shared = { data, json: JSON.stringify(data) }
    sharedByPayload.set(source, shared)
  }
  return shared
}

/** The top-level keys that differ between the loaded snapshot and `current`, as a store change. */
function changeOf(snapshot: string, current: Data, refreshedAt: number): SessionChange {
  const before = nullData(JSON.parse(snapshot) as object)
  const set: Data = nullData({})
  const remove: string[] = []
  for (const key of Object.keys(current)) {
    const value = current[key]
    if (value !== undefined && JSON.stringify(before[key]) !== JSON.stringify(value)) set[key] = value
  }
  for (const key of Object.keys(before)) if (current[key] === undefined) remove.push(key)
  return { set, remove, refreshedAt }
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

function storeError(cause: unknown, message = 'the session store is unavailable'): SessionError {
  return new SessionError(SessionErrorCode.STORE_UNAVAILABLE, message, {
    cause,
    status: 503,
  })
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

function headerOf(headers: HeaderSource | undefined, key: string): string | readonly string[] | undefined {
  if (headers === undefined) return undefined
  if (typeof headers.get === 'function')
    return (headers as { get(name: string): string | null }).get(key) ?? undefined
  return (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[key]
}

function cookieFrom(headers: HeaderSource): string | readonly string[] | undefined {
  return headerOf(headers, 'cookie')
}

function isWebSocketUpgrade(headers: HeaderSource | undefined): boolean {
  const upgrade = headerOf(headers, 'upgrade')
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket'
}

function isEmpty(data: Data): boolean {
  for (const _ in data) return false
  return true
}
