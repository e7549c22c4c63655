import { SessionError, SessionErrorCode } from './errors.js'
import { Cycle } from './internal/cycle.js'
import { generateSessionId } from './internal/ids.js'
import { createSealer } from './internal/sealer.js'
import { reportWeakSecrets } from './internal/secret-strength.js'
import { userSubject } from './internal/store-io.js'
import { arrival, cookieFrom } from './internal/token-transport.js'
import { isProduction, resolveOptions, type SessionOptions } from './options.js'
import type { Session, SessionData } from './session.js'

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

function unsupported(message: string): SessionError {
  return new SessionError(SessionErrorCode.UNSUPPORTED, message)
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
