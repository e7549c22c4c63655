import type { LegacySessionReader } from './adopt.js'
import { SessionError, SessionErrorCode } from './errors.js'
import type { SessionEvent } from './events.js'
import { type CookieOptions, validateCookieOptions } from './internal/cookie.js'
import type { SecretInput } from './internal/sealer.js'
import { resolveTokenHeader } from './internal/token-header.js'
import { hintFor, unknownNames } from './internal/unknown-options.js'
import type { RevocationStore, SessionStore } from './store.js'

const DAY = 86_400

/** Cookie attributes of the session cookie. */
export interface SessionCookieOptions {
  /** Cookie name. Use a `__Host-` name in production over HTTPS. @default 'session' */
  name?: string
  /** @default '/' */
  path?: string
  /** Omit for a host-only cookie (recommended). @default undefined */
  domain?: string
  /** @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | false
  /**
   * `'auto'` sets `Secure` when the request came over HTTPS (as the adapter reports it: behind a TLS
   * proxy only with the framework's trust-proxy setting). Under `NODE_ENV=production` the default is
   * `true`, so a proxy left unconfigured cannot send the cookie without `Secure`; give `false` (local
   * plain HTTP) or `'auto'` explicitly to choose otherwise. @default 'auto' (`true` under NODE_ENV=production)
   */
  secure?: boolean | 'auto'
  /** @default true */
  httpOnly?: boolean
  /** CHIPS partitioned cookie; needs `secure: true`. @default false */
  partitioned?: boolean
  /** @default undefined */
  priority?: 'low' | 'medium' | 'high'
  /** Most cookies one session may be split into when its seal exceeds 4096 bytes. @default 2 */
  maxChunks?: number
  /** Most bytes (names plus values) all chunks together may take. @default 8000 */
  maxTotalSize?: number
}

/** The opt-in header transport, for API and mobile clients that keep the token themselves. */
export interface TokenHeaderOptions {
  /** Request and response header that carries the sealed token, e.g. `'X-Session-Token'`. */
  name: string
  /**
   * Whether requests that do not carry the header still use the cookie. `false`: the header is
   * the only transport, and a request without it is answered in the header too. @default true
   */
  cookie?: boolean
}

/** What a store failure does to a request. */
export type StoreFailurePolicy =
  /** The session cannot be used: touching it throws a `SessionError` with code `ERR_SESSION_STORE_UNAVAILABLE` and status 503. */
  | 'fail'
  /** The request runs with an empty session that is never saved, so the stored one is left as it was. */
  | 'anonymous'

export interface SessionOptions {
  /**
   * At least 32 characters, or `{ [keyId]: secret }` for rotation: the last entry seals (for
   * integer-like ids JavaScript orders keys numerically, so the highest), every entry unseals.
   * Omitted outside production, a random one is made per process (with a loud warning).
   */
  secret?: SecretInput
  /** Server-side store; omitted, the whole session is sealed into the cookie. @default undefined */
  store?: SessionStore
  /**
   * Where revocations live, so the cookie store can end sessions it does not hold: `destroy()` and
   * `regenerate()` revoke the session's id (a copy of the cookie taken before is then no session,
   * until the token would have expired anyway), and `endUserSessions(user)` every session bound to
   * the user. Every cookie-store request that carries a session then asks it once (one round trip
   * for the session and its user); a failed revocation write fails the logout with an error. Without
   * it, `destroy()` on the cookie store only clears the browser's cookie, and a copy stays valid
   * until it expires. Server-store sessions are deleted from the store instead. @default undefined
   */
  revocations?: RevocationStore
  cookie?: SessionCookieOptions
  /** Seconds without activity (a write or a rolling refresh) before the session ends. @default 604800 (7 days) */
  idleTimeout?: number
  /** Seconds from creation after which the session ends, however active. @default 2592000 (30 days) */
  absoluteTimeout?: number
  /**
   * Seconds after the last refresh at which an unchanged session is sent again to slide its idle
   * window; `true` means a quarter of `idleTimeout`, `false` never (only writes slide it). @default true
   */
  rolling?: boolean | number
  /**
   * Opt-in header transport: a request that carries this header (even empty, for a client that
   * has no token yet) is read from it, never from its cookie, and gets its new token back in the
   * same response header (empty when the session ended); no cookie is set for it. Tokens are never
   * read from the query string. A string is shorthand for `{ name }`. Names with a meaning in HTTP
   * (hop-by-hop, `Content-*`, caching, `If-*`, CORS, authentication, `Cookie`, `Host`, `Location`,
   * `Sec-*`, `Proxy-*`, ...) are refused with `ERR_SESSION_INVALID_OPTION`. @default undefined
   */
  tokenHeader?: string | TokenHeaderOptions
  /**
   * Origins whose WebSocket handshakes may carry the session, as `scheme://host[:port]`, or a
   * function that decides. A handshake (`manager.upgrade()`, or a request with `Upgrade: websocket`)
   * whose `Origin` is not allowed gets no session: a new empty one, which a socket cannot write, and
   * an `origin-refused` event. Browsers send `Origin` on every WebSocket handshake and send the
   * cookie whatever page opened it, so without this any site could open a socket as its visitor
   * (cross-site WebSocket hijacking); a handshake without `Origin` comes from no browser and is let
   * through. Behind a TLS proxy the request's own scheme may read `http`: list your public origin.
   * @default only the request's own origin: its `Host` and the scheme it arrived on
   */
  allowedOrigins?: readonly string[] | ((origin: string) => boolean)
  /** What a store failure does to the request. @default 'fail' */
  onStoreError?: StoreFailurePolicy
  /**
   * Unsealed cookies remembered so an unchanged cookie costs no crypto, and as many forged ones (a
   * megabyte at most) so one sent again costs none either (entries; 0 disables). @default 1000
   */
  unsealCacheSize?: number
  /** Current time in epoch milliseconds; inject one in tests. @default Date.now */
  clock?: () => number
  /** Telemetry. Events carry reasons and key ids, never a cookie value, a session id or a secret. */
  onEvent?: (event: SessionEvent) => void
  /**
   * Sessions of the library this app is leaving, read during a migration period
   * (`ironSessionCookies()`, `expressSessionCookies()`, or your own `LegacySessionReader`): a request
   * without a session of this library but with such a cookie gets its data in a new session,
   * sent on the same response, and the old cookie is cleared. @default undefined
   */
  adopt?: LegacySessionReader | readonly LegacySessionReader[]
}

export const defaults = Object.freeze({
  cookie: Object.freeze({
    name: 'session',
    path: '/',
    sameSite: 'lax',
    secure: 'auto',
    httpOnly: true,
    partitioned: false,
    maxChunks: 2,
    maxTotalSize: 8000,
  }),
  idleTimeout: 7 * DAY,
  absoluteTimeout: 30 * DAY,
  rolling: true,
  onStoreError: 'fail',
  unsealCacheSize: 1000,
} as const)

export interface ResolvedOptions {
  cookie: Readonly<CookieOptions>
  maxChunks: number
  maxTotalSize: number
  idleMs: number
  absoluteMs: number
  /** Milliseconds after the last refresh at which a rolling refresh is due; Infinity when off. */
  rollingMs: number
  store: SessionStore | undefined
  /** `name` as configured (sent), `key` lower-cased (looked up); `cookie`: whether cookies stay on. */
  tokenHeader: { name: string; key: string; cookie: boolean } | undefined
  revocations: RevocationStore | undefined
  /** Whether a handshake from `origin` may carry the session; `self` is the request's own origin. */
  originAllowed: (origin: string, self: string | undefined) => boolean
  onStoreError: StoreFailurePolicy
  clock: () => number
  emit: (event: SessionEvent) => void
  /** Legacy readers, each with the cookie options that clear its cookie. */
  adopt: ReadonlyArray<{ reader: LegacySessionReader; cookie: Readonly<CookieOptions> }>
}

/**
 * `NODE_ENV=production`, read where a `process` exists (Node, Bun, Deno's compatibility layer).
 * Deno without `--allow-env` throws on the read: there it counts as not production.
 */
export function isProduction(): boolean {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    return env?.NODE_ENV === 'production'
  } catch {
    return false
  }
}

function invalid(message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, message)
}

function seconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    invalid(`${name} must be a positive number of seconds, got ${String(value)}`)
  }
  return value
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    invalid(`${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

/** Every option this library reads, so that any other is refused rather than silently ignored. */
const kOptionNames: ReadonlySet<string> = new Set([
  'secret',
  'store',
  'revocations',
  'cookie',
  'idleTimeout',
  'absoluteTimeout',
  'rolling',
  'tokenHeader',
  'onStoreError',
  'unsealCacheSize',
  'clock',
  'onEvent',
  'adopt',
  'allowedOrigins',
] satisfies Array<keyof SessionOptions>)

const kCookieOptionNames: ReadonlySet<string> = new Set([
  'name',
  'path',
  'domain',
  'sameSite',
  'secure',
  'httpOnly',
  'partitioned',
  'priority',
  'maxChunks',
  'maxTotalSize',
] satisfies Array<keyof SessionCookieOptions>)

/**
 * Refuses the options this library does not have, naming each one's equivalent when a peer library
 * uses it. Every unknown option is named in the one error, a line each: an app moving from another
 * library fixes its configuration in one pass, not one restart per option.
 */
function refuseUnknown(options: object, cookie: unknown): void {
  const lines = unknownNames(options, kOptionNames).map((name) => unknownLine(name, name, false))
  if (cookie !== null && typeof cookie === 'object')
    for (const name of unknownNames(cookie, kCookieOptionNames))
      lines.push(unknownLine(`cookie.${name}`, name, true))
  if (lines.length > 0) invalid(lines.join('\n'))
}

function unknownLine(where: string, name: string, inCookie: boolean): string {
  const hint = hintFor(name, inCookie)
  return hint
    ? `unknown option \`${where}\` (from ${hint.from}): here use ${hint.instead}`
    : `unknown option \`${where}\`: see SessionOptions for the options this library reads`
}

/** `value` without its `undefined` entries, so that they do not override defaults in a spread. */
function definedOnly<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined
  const out: Record<string, unknown> = {}
  for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = entry
  return out as T
}

export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    invalid('createSessionManager() needs an options object with a `secret`')
  const given = options.cookie as unknown
  // express-session 1.19 takes a function of the request here: ignoring it would run on defaults.
  if (given !== undefined && (given === null || typeof given !== 'object'))
    invalid(
      "cookie must be an object of cookie attributes; a function per request (express-session's) has no equivalent: `secure: 'auto'` follows the request",
    )
  refuseUnknown(options, options.cookie)
  // An attribute given as `undefined` (a spread, `secure: isProd ? true : undefined`) keeps its default.
  const c = { ...defaults.cookie, ...definedOnly(options.cookie) }
  // In production a missing trust-proxy setting must not decide `Secure` (C6); an explicit choice wins.
  if (options.cookie?.secure === undefined && isProduction()) c.secure = true
  const cookie = validateCookieOptions({
    name: c.name,
    path: c.path,
    domain: c.domain,
    sameSite: c.sameSite,
    secure: c.secure,
    httpOnly: c.httpOnly,
    partitioned: c.partitioned,
    priority: c.priority,
  })
  const idle = seconds('idleTimeout', options.idleTimeout ?? defaults.idleTimeout)
  const absolute = seconds('absoluteTimeout', options.absoluteTimeout ?? defaults.absoluteTimeout)
  const rolling = options.rolling ?? defaults.rolling
  let rollingMs: number
  if (rolling === true) rollingMs = (Math.min(idle, absolute) * 1000) / 4
  else if (rolling === false) rollingMs = Number.POSITIVE_INFINITY
  else rollingMs = seconds('rolling', rolling) * 1000
  const policy = options.onStoreError ?? defaults.onStoreError
  if (policy !== 'fail' && policy !== 'anonymous')
    invalid(`onStoreError must be 'fail' or 'anonymous', got ${String(policy)}`)
  const store = options.store
  if (store !== undefined) {
    // An express-session (connect) store has destroy() where a SessionStore has delete().
    if (
      typeof store?.delete !== 'function' &&
      typeof (store as { destroy?: unknown })?.destroy === 'function'
    )
      invalid(
        'store looks like an express-session (connect) store: wrap it with connectStore(store) from this package',
      )
    for (const method of ['get', 'set', 'delete'] as const) {
      if (typeof store?.[method] !== 'function')
        invalid(`store must implement ${method}(); see the SessionStore interface`)
    }
  }
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function') invalid('clock must be a function returning epoch milliseconds')
  const listener = options.onEvent
  return {
    cookie,
    maxChunks: positiveInt('cookie.maxChunks', c.maxChunks),
    maxTotalSize: positiveInt('cookie.maxTotalSize', c.maxTotalSize),
    idleMs: idle * 1000,
    absoluteMs: absolute * 1000,
    rollingMs,
    store,
    tokenHeader: resolveTokenHeader(options.tokenHeader),
    adopt: resolveAdopt(options.adopt, cookie),
    revocations: options.revocations,
    originAllowed: resolveOrigins(options.allowedOrigins),
    onStoreError: policy,
    clock,
    emit: listener
      ? (event) => {
          // Telemetry must never break a request.
          try {
            listener(event)
          } catch {}
        }
      : () => {},
  }
}

function resolveAdopt(
  value: SessionOptions['adopt'],
  cookie: Readonly<CookieOptions>,
): ResolvedOptions['adopt'] {
  if (value === undefined) return []
  const readers = (Array.isArray(value) ? value : [value]) as LegacySessionReader[]
  return readers.map((reader) => {
    if (
      typeof reader?.read !== 'function' ||
      typeof reader.cookieName !== 'string' ||
      typeof reader.name !== 'string'
    )
      invalid(
        'adopt takes readers such as ironSessionCookies() or expressSessionCookies() (see LegacySessionReader)',
      )
    if (reader.cookieName === cookie.name || reader.cookieName.startsWith(`${cookie.name}.`))
      invalid(
        `adopt: the old cookie ${reader.cookieName} cannot share this library's cookie name ${cookie.name}`,
      )
    // Cleared with the attributes it was set with, so the browser matches (and accepts) the deletion.
    const clear = validateCookieOptions({
      ...cookie,
      name: reader.cookieName,
      path: reader.cookie?.path ?? '/',
      domain: reader.cookie?.domain,
    })
    return { reader, cookie: clear }
  })
}

const sameOrigin = (origin: string, self: string | undefined) => origin.toLowerCase() === self

function resolveOrigins(value: SessionOptions['allowedOrigins']): ResolvedOptions['originAllowed'] {
  if (value === undefined) return sameOrigin
  if (typeof value === 'function') return (origin) => value(origin) === true
  if (!Array.isArray(value)) invalid('allowedOrigins must be a list of origins or a function')
  const allowed = new Set<string>()
  for (const entry of value as readonly unknown[]) {
    let origin: string | undefined
    try {
      origin = typeof entry === 'string' ? new URL(entry).origin : undefined
    } catch {}
    // `URL#origin` is lower-case and drops a default port: an entry must already be that form, so
    // a path, a trailing slash or a wildcard is refused rather than silently never matching.
    if (origin === undefined || origin === 'null' || origin !== (entry as string).toLowerCase())
      invalid(
        `allowedOrigins entries must be origins such as 'https://app.example', got ${JSON.stringify(entry)}`,
      )
    allowed.add(origin)
  }
  return (origin) => allowed.has(origin.toLowerCase())
}
