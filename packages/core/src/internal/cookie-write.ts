import { SessionError, SessionErrorCode } from '../errors.js'
import { attributesOf, type CookieOptions, EPOCH, type FixedAttributes, invalid } from './cookie-options.js'

// Writing the session cookie: one cookie or its chunks, and the clearing of the names it no longer
// uses (CONFORMANCE C3, E4, E9, L4).

/** Most bytes of name plus value one cookie may take: the RFC 6265bis limit every major browser enforces. */
const DEFAULT_CHUNK_SIZE = 4096
/** Same as `defaults.cookie.maxChunks`: with 4096-byte chunks two already reach the 8000-byte total. */
const DEFAULT_MAX_CHUNKS = 2
/** Well under the 8 KiB many servers and proxies allow for the whole `Cookie` header. */
const DEFAULT_MAX_TOTAL = 8000
const EPOCH_TEXT = EPOCH.toUTCString()
/**
 * What a seal is made of (base64url, `*` between fields, `.` in the `Fe26.2` prefix): a subset of
 * RFC 6265 cookie-octets, so a value that passes needs no further check or encoding. Anything else
 * here is a caller bug; one regular-expression pass over the value is the cheapest way to refuse it.
 */
const SEAL_CHARS = /^[\w*.-]*$/

let lastSecond = Number.NaN
let lastHttpDate = ''

/**
 * `date.toUTCString()`, remembered for the last second asked: the text names whole seconds, and
 * under load one second's writes all expire in the same second.
 */
function httpDate(date: Date): string {
  const second = Math.floor(date.getTime() / 1000)
  if (second !== lastSecond) {
    lastHttpDate = date.toUTCString()
    lastSecond = second
  }
  return lastHttpDate
}

function setCookie(
  name: string,
  value: string,
  maxAge: number | undefined,
  expires: string | undefined,
  attributes: FixedAttributes,
  secureRequest: boolean,
): string {
  const flags = secureRequest ? attributes.secureFlags : attributes.flags
  // A browser-session cookie: no lifetime at all, so it ends when the browser does (X9).
  if (maxAge === undefined || expires === undefined) return `${name}=${value}${attributes.scope}${flags}`
  return `${name}=${value}; Max-Age=${maxAge}${attributes.scope}; Expires=${expires}${flags}`
}

/** True when `candidate` is `name` or `name.<index>`: the only names this codec ever clears. */
function isOwnName(candidate: string, name: string): boolean {
  if (candidate === name) return true
  const n = name.length
  if (candidate.length < n + 2 || candidate.charCodeAt(n) !== 0x2e || !candidate.startsWith(name))
    return false
  for (let i = n + 1; i < candidate.length; i++) {
    const c = candidate.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

function appendClears(
  out: string[],
  opts: Readonly<CookieOptions>,
  attributes: FixedAttributes,
  present: readonly string[],
  written: readonly string[],
  secureRequest: boolean,
): void {
  for (let i = 0; i < present.length; i++) {
    const p = present[i]
    // Only our own names: anything else in `present` is a caller bug, and clearing it would delete
    // some other cookie of the site. `indexOf` keeps one Set-Cookie per name (E4) on duplicates.
    if (typeof p !== 'string' || !isOwnName(p, opts.name) || written.includes(p) || present.indexOf(p) < i)
      continue
    out.push(setCookie(p, '', 0, EPOCH_TEXT, attributes, secureRequest))
  }
}

/**
 * Builds the `Set-Cookie` values that write `value` under `opts.name` (CONFORMANCE C3, E4, E9):
 * one cookie when name + value fits `chunkSize`, else `name.0`, `name.1`, ...; every other name in
 * `present` is cleared in the same output. Throws SessionError TOO_LARGE past `maxChunks` or
 * `maxTotal`, INVALID_COOKIE for a value with characters no seal has (base64url, `*`, `.`) or bad
 * Max-Age/Expires. Options that did not come from validateCookieOptions are validated first.
 * `maxAgeSeconds` and `expires` both `undefined`: a browser-session cookie, with neither attribute.
 */
export function serializeSessionCookie(
  opts: Readonly<CookieOptions>,
  value: string,
  maxAgeSeconds: number | undefined,
  expires: Date | undefined,
  present: readonly string[],
  secureRequest: boolean,
  limits?: { chunkSize?: number; maxChunks?: number; maxTotal?: number },
): string[] {
  const chunkSize = limits?.chunkSize ?? DEFAULT_CHUNK_SIZE
  const maxChunks = limits?.maxChunks ?? DEFAULT_MAX_CHUNKS
  const maxTotal = limits?.maxTotal ?? DEFAULT_MAX_TOTAL
  const attributes = attributesOf(opts)
  const name = opts.name

  // The message never includes the value: it is a sealed session (T10).
  if (typeof value !== 'string' || !SEAL_CHARS.test(value)) {
    invalid('the session cookie value has characters a seal never has; pass a seal, never raw data')
  }
  const browserSession = maxAgeSeconds === undefined && expires === undefined
  if (!browserSession) {
    if (!Number.isInteger(maxAgeSeconds)) invalid('Max-Age must be a whole number of seconds')
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) invalid('Expires must be a valid Date')
  }

  const names: string[] = []
  const values: string[] = []
  let total: number
  if (name.length + value.length <= chunkSize) {
    names.push(name)
    values.push(value)
    total = name.length + value.length
  } else {
    total = 0
    let offset = 0
    for (let i = 0; offset < value.length; i++) {
      if (i >= maxChunks) {
        throw new SessionError(
          SessionErrorCode.TOO_LARGE,
          `the session needs more than ${maxChunks} cookies of ${chunkSize} bytes; store less data in it or use a server store`,
        )
      }
      const chunkName = `${name}.${i}`
      const room = chunkSize - chunkName.length
      // `!(>= 1)` also catches NaN, which would otherwise loop forever on empty slices.
      if (!(room >= 1)) {
        throw new SessionError(
          SessionErrorCode.TOO_LARGE,
          `cookie name ${name} leaves no room for a value in ${chunkSize} bytes`,
        )
      }
      const piece = value.slice(offset, offset + room)
      offset += piece.length
      total += chunkName.length + piece.length
      names.push(chunkName)
      values.push(piece)
    }
  }
  if (total > maxTotal) {
    throw new SessionError(
      SessionErrorCode.TOO_LARGE,
      `the session cookie takes ${total} bytes, over the ${maxTotal}-byte limit; store less data in it or use a server store`,
    )
  }

  const expiresText = expires === undefined ? undefined : httpDate(expires)
  const out: string[] = []
  for (let i = 0; i < names.length; i++) {
    out.push(setCookie(names[i]!, values[i]!, maxAgeSeconds, expiresText, attributes, secureRequest))
  }
  appendClears(out, opts, attributes, present, names, secureRequest)
  return out
}

/**
 * `Set-Cookie` values that clear every name in `present` (L4): empty value, `Max-Age=0`, Expires in
 * 1970, and the same attributes as a write so the browser matches (and, for prefixed or
 * partitioned cookies, accepts) the deletion. An empty `present` yields nothing: there is nothing to clear.
 */
export function clearSessionCookie(
  opts: Readonly<CookieOptions>,
  present: readonly string[],
  secureRequest: boolean,
): string[] {
  const out: string[] = []
  appendClears(out, opts, attributesOf(opts), present, [], secureRequest)
  return out
}
