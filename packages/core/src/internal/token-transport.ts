/**
 * How a session's token reaches the engine: from the session cookie (chunked) or the configured
 * request header, and whether a WebSocket handshake may carry it at all. The response side of the
 * same transport (what goes back) is `response-headers.ts`.
 */
import type { HeaderSource, RequestInfo, UpgradeRequest } from '../manager.js'
import type { ResolvedOptions } from '../options.js'
import { readSessionCookie } from './cookie.js'

/** How a request's token travels: as cookies (chunked), or in the configured request/response header. */
export type Transport = 'cookie' | 'header'

const NO_NAMES: readonly string[] = Object.freeze([])

/** What the request carries, read once: its token, how it came, the time it was read, whether it is a socket. */
export class Prelude {
  value: string | undefined = undefined
  now = 0
  transport: Transport = 'cookie'
  /** Names of the session cookie's chunks the request carried, which a response may have to expire. */
  present: readonly string[] = NO_NAMES

  constructor(readonly socket: boolean) {}
}

/** Reads what `request` carries; the clock is read after the token, as the request's own time. */
export function readPrelude(opts: ResolvedOptions, request: RequestInfo): Prelude {
  const prelude = new Prelude(request.socket ?? isWebSocketUpgrade(request.headers))
  if (!prelude.socket || originAllowed(opts, request)) prelude.value = readToken(opts, request, prelude)
  prelude.now = opts.clock()
  return prelude
}

/** The token the request carries, from the header transport when it is used, else the cookie. */
function readToken(opts: ResolvedOptions, request: RequestInfo, into: Prelude): string | undefined {
  const { tokenHeader, cookie, maxChunks } = opts
  if (tokenHeader) {
    const raw = headerOf(request.headers, tokenHeader.key)
    if (raw !== undefined || !tokenHeader.cookie) {
      into.transport = 'header'
      // Repeated headers join with ',', which no seal contains: they fail as malformed.
      const value = typeof raw === 'string' ? raw.trim() : raw?.join(',')
      return value === '' ? undefined : value
    }
  }
  const { value, present } = readSessionCookie(request.cookieHeader, cookie.name, maxChunks)
  into.present = present
  return value
}

/** `scheme://host` of the request itself, lower-case, from `origin` or from `Host` and `secure`. */
function ownOrigin(request: RequestInfo): string | undefined {
  const { origin, headers } = request
  if (typeof origin === 'string') return origin.toLowerCase()
  // HTTP/2 names the host `:authority`; a Fetch `Headers` would throw on that name.
  const host =
    headerOf(headers, 'host') ??
    (headers !== undefined && typeof headers.get !== 'function' ? headerOf(headers, ':authority') : undefined)
  if (typeof host !== 'string') return undefined
  return `${request.secure === true ? 'https' : 'http'}://${host.toLowerCase()}`
}

/**
 * Whether a WebSocket handshake may carry the session (W1): a browser sends the cookie on a
 * handshake whatever page opened it, so only `Origin` tells the app's own pages from another site's.
 */
function originAllowed(opts: ResolvedOptions, request: RequestInfo): boolean {
  const origin = headerOf(request.headers, 'origin')
  // No browser omits it on a WebSocket handshake: without one it is no cross-site request.
  if (origin === undefined) return true
  if (typeof origin === 'string' && opts.originAllowed(origin, ownOrigin(request))) return true
  opts.emit({ type: 'origin-refused', origin: String(origin), cookie: opts.cookie.name })
  return false
}

/** How an upgrade request arrived, for its own origin (`allowedOrigins`' default). */
export function arrival(request: UpgradeRequest): Pick<RequestInfo, 'secure' | 'origin'> {
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

export function headerOf(
  headers: HeaderSource | undefined,
  key: string,
): string | readonly string[] | undefined {
  if (headers === undefined) return undefined
  if (typeof headers.get === 'function')
    return (headers as { get(name: string): string | null }).get(key) ?? undefined
  return (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[key]
}

export function cookieFrom(headers: HeaderSource): string | readonly string[] | undefined {
  return headerOf(headers, 'cookie')
}

function isWebSocketUpgrade(headers: HeaderSource | undefined): boolean {
  const upgrade = headerOf(headers, 'upgrade')
  return typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket'
}
