import { type SerializeOptions, serialize } from 'cookie'
import { SessionError, SessionErrorCode } from '../errors.js'

export interface CookieOptions {
  /** Cookie name, e.g. `'sid'` or `'__Host-sid'`. Chunks are named `<name>.0`, `<name>.1`, ... */
  name: string
  /** Must start with `/`; the caller applies the default `'/'`. */
  path: string
  /** Omitted for a host-only cookie. */
  domain?: string
  sameSite: 'lax' | 'strict' | 'none' | false
  /** `'auto'`: `Secure` only when the request is secure. */
  secure: boolean | 'auto'
  httpOnly: boolean
  partitioned: boolean
  priority?: 'low' | 'medium' | 'high'
}

/** Most bytes of name plus value one cookie may take: the RFC 6265bis limit every major browser enforces. */
const DEFAULT_CHUNK_SIZE = 4096
/** Same as `defaults.cookie.maxChunks`: with 4096-byte chunks two already reach the 8000-byte total. */
const DEFAULT_MAX_CHUNKS = 2
/** Well under the 8 KiB many servers and proxies allow for the whole `Cookie` header. */
const DEFAULT_MAX_TOTAL = 8000
/**
 * Chunk indexes past `maxChunks` that are still reported as present, so that lowering `maxChunks`
 * (or a cookie written by an older release) still gets its stale chunks cleared.
 */
const STALE_CHUNK_SLACK = 4
/** Bounds the chunk probe so that a non-finite `maxChunks` can never turn request input into a long loop. */
const MAX_CHUNK_INDEX = 1000

// Values are base64url plus `*`: %-decoding would let `%41` and `A` name the same token (T3), and
// %-encoding would only inflate a value that never needs it.
const raw = (value: string): string => value
const EPOCH = new Date(0)
const EPOCH_TEXT = EPOCH.toUTCString()
/**
 * What a seal is made of (base64url, `*` between fields, `.` in the `Fe26.2` prefix): a subset of
 * RFC 6265 cookie-octets, so a value that passes needs no further check or encoding. Anything else
 * here is a caller bug; one regular-expression pass over the value is the cheapest way to refuse it.
 */
const SEAL_CHARS = /^[\w*.-]*$/
const HOST_PREFIX = '__host-'
const SECURE_PREFIX = '__secure-'
const SAME_SITE: ReadonlySet<unknown> = new Set(['lax', 'strict', 'none', false])
const PRIORITY: ReadonlySet<unknown> = new Set(['low', 'medium', 'high', undefined])
const SECURE: ReadonlySet<unknown> = new Set([true, false, 'auto'])

function invalid(message: string, cause?: unknown): never {
  throw new SessionError(
    SessionErrorCode.INVALID_COOKIE,
    message,
    cause === undefined ? undefined : { cause },
  )
}

/**
 * Index of the first character that cannot appear in a cookie name (`allowEquals` false) or in a
 * Path/Domain attribute value, or -1. These break `Cookie`/`Set-Cookie` parsing in some user agent.
 */
function badChar(s: string, allowEquals: boolean): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (
      c <= 0x20 ||
      c >= 0x7f ||
      c === 0x3b /* ; */ ||
      c === 0x2c /* , */ ||
      c === 0x22 /* " */ ||
      c === 0x5c /* \ */ ||
      (c === 0x3d /* = */ && !allowEquals)
    ) {
      return i
    }
  }
  return -1
}

function checkChars(field: string, value: unknown, allowEquals: boolean): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    invalid(`cookie.${field} must be a non-empty string`)
  }
  const at = badChar(value, allowEquals)
  if (at !== -1) {
    const forbidden = allowEquals
      ? 'spaces, control characters, non-ASCII, ; , " or \\'
      : 'spaces, control characters, non-ASCII, ; , " \\ or ='
    invalid(
      `cookie.${field} ${JSON.stringify(value)} has a character browsers cannot take at index ${at}; ` +
        `remove ${forbidden}`,
    )
  }
}

/** Throws SessionError INVALID_COOKIE at configuration time (CONFORMANCE C1, C2); returns a frozen normalized copy. */
export function validateCookieOptions(opts: CookieOptions): Readonly<CookieOptions> {
  if (opts === null || typeof opts !== 'object') invalid('cookie options must be an object')
  const { name, path, domain, sameSite, secure, httpOnly, partitioned, priority } = opts
  checkChars('name', name, false)
  checkChars('path', path, true)
  // A Path that does not start with `/` is ignored by browsers, which then scope the cookie to the
  // request's directory: the session would silently follow some URLs and not others.
  if (path.charCodeAt(0) !== 0x2f) invalid(`cookie.path ${JSON.stringify(path)} must start with '/'`)
  if (domain !== undefined) checkChars('domain', domain, true)
  if (!SAME_SITE.has(sameSite)) invalid(`cookie.sameSite must be 'lax', 'strict', 'none' or false`)
  if (!SECURE.has(secure)) invalid(`cookie.secure must be true, false or 'auto'`)
  if (typeof httpOnly !== 'boolean') invalid('cookie.httpOnly must be a boolean')
  if (typeof partitioned !== 'boolean') invalid('cookie.partitioned must be a boolean')
  if (!PRIORITY.has(priority)) invalid(`cookie.priority must be 'low', 'medium', 'high' or omitted`)

  // Browsers match prefixes case-insensitively and silently drop a cookie that breaks their rules,
  // so a misconfiguration would show up only as "nobody can log in". 'auto' is not enough: on a
  // plain-HTTP request it would emit a cookie without Secure, which the browser then drops.
  const lower = name.toLowerCase()
  if (lower.startsWith(HOST_PREFIX)) {
    if (secure !== true)
      invalid(`a cookie named ${name} needs secure: true (the __Host- prefix requires Secure)`)
    if (path !== '/') invalid(`a cookie named ${name} needs path: '/' (the __Host- prefix requires it)`)
    if (domain !== undefined)
      invalid(`a cookie named ${name} must not set a domain (the __Host- prefix forbids it)`)
  } else if (lower.startsWith(SECURE_PREFIX) && secure !== true) {
    invalid(`a cookie named ${name} needs secure: true (the __Secure- prefix requires Secure)`)
  }
  if (partitioned && secure !== true)
    invalid('cookie.partitioned needs secure: true (browsers drop it otherwise)')
  if (sameSite === 'none' && secure !== true) {
    invalid(`cookie.sameSite 'none' needs secure: true (browsers drop it otherwise)`)
  }

  const normalized: CookieOptions = { name, path, sameSite, secure, httpOnly, partitioned }
  if (domain !== undefined) normalized.domain = domain
  if (priority !== undefined) normalized.priority = priority
  // The `cookie` package has its own, different rules for Domain and Path (e.g. RFC 1034 labels):
  // find out now rather than on the first request that writes a session.
  try {
    serialize(name, '', toSerializeOptions(normalized, true, 0, EPOCH))
  } catch (cause) {
    invalid(`cookie options cannot be sent as a Set-Cookie header: ${(cause as Error).message}`, cause)
  }
  const frozen = Object.freeze(normalized)
  validated.set(frozen, fixedAttributes(frozen))
  return frozen
}

/**
 * The parts of a session `Set-Cookie` that depend on the options alone, in the order and spelling
 * of the `cookie` package's `serialize` (which validateCookieOptions has accepted them through):
 * `name=value; Max-Age=<n>{scope}; Expires=<date>{flags}`. Worked out once per options object, so
 * a write is string concatenation instead of `serialize` re-checking every attribute and the
 * 700-odd characters of the seal (about 5 µs a cookie).
 */
interface FixedAttributes {
  /** `; Domain=...; Path=...` */
  readonly scope: string
  /** `; HttpOnly; Secure; Partitioned; Priority=...; SameSite=...` for a plain-HTTP request... */
  readonly flags: string
  /** ... and for a secure one: the two differ only under `secure: 'auto'`. */
  readonly secureFlags: string
}

const PRIORITY_TEXT = { low: 'Low', medium: 'Medium', high: 'High' } as const
const SAME_SITE_TEXT = { lax: 'Lax', strict: 'Strict', none: 'None' } as const

/** Options objects that validateCookieOptions returned (frozen, so they cannot change afterwards). */
const validated = new WeakMap<Readonly<CookieOptions>, FixedAttributes>()

function fixedAttributes(opts: Readonly<CookieOptions>): FixedAttributes {
  const flags = (secure: boolean) =>
    (opts.httpOnly ? '; HttpOnly' : '') +
    (secure ? '; Secure' : '') +
    (opts.partitioned ? '; Partitioned' : '') +
    (opts.priority ? `; Priority=${PRIORITY_TEXT[opts.priority]}` : '') +
    (opts.sameSite ? `; SameSite=${SAME_SITE_TEXT[opts.sameSite]}` : '')
  return {
    scope: `${opts.domain ? `; Domain=${opts.domain}` : ''}; Path=${opts.path}`,
    flags: flags(opts.secure === true),
    secureFlags: flags(opts.secure !== false),
  }
}

/** Options from elsewhere (tests, direct callers) are validated, as the engine's were, before use. */
function attributesOf(opts: Readonly<CookieOptions>): FixedAttributes {
  return validated.get(opts) ?? validated.get(validateCookieOptions(opts))!
}

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

function toSerializeOptions(
  opts: Readonly<CookieOptions>,
  secureRequest: boolean,
  maxAge: number,
  expires: Date,
): SerializeOptions {
  return {
    encode: raw,
    path: opts.path,
    domain: opts.domain,
    maxAge,
    expires,
    httpOnly: opts.httpOnly,
    secure: opts.secure === true || (opts.secure === 'auto' && secureRequest),
    sameSite: opts.sameSite,
    partitioned: opts.partitioned,
    priority: opts.priority,
  }
}

const NOTHING_READ: { value: undefined; present: readonly string[] } = Object.freeze({
  value: undefined,
  present: Object.freeze([]),
})

/**
 * Reads the session cookie `name` and its chunks `name.0`, `name.1`, ... from one or several
 * `Cookie` header values. Exact-case names; the first occurrence of a name wins (browsers send the
 * more specific path first). `value` is the chunked form when `name.0` exists, else the plain
 * cookie, else undefined; `present` lists each of `name`, `name.0`..`name.(maxChunks+4)` that
 * appeared, so stale ones can be cleared. Never throws.
 *
 * Only this app's names are looked at (T12): a header of thousands of other cookies costs one
 * `indexOf` pass, not a split and a copy of every pair. What is read is exactly what the `cookie`
 * package's `parse` reads for these names (pairs split at `;`, the first `=` ends the name, spaces
 * and tabs trimmed around name and value, values raw): the tests hold the two side by side.
 */
export function readSessionCookie(
  header: string | readonly string[] | undefined,
  name: string,
  maxChunks: number,
): { value: string | undefined; present: readonly string[] } {
  if (typeof name !== 'string' || name === '') return NOTHING_READ
  let source: string | undefined
  if (typeof header === 'string') {
    if (header.includes(name)) source = header
  } else if (Array.isArray(header)) {
    // HTTP/2 sends one header per cookie; RFC 9113 8.2.3 says to join them with "; ", which keeps
    // first-wins across headers because the scan keeps the first value it meets.
    for (const h of header as readonly unknown[]) {
      if (typeof h !== 'string' || !h.includes(name)) continue
      source = source === undefined ? h : `${source}; ${h}`
    }
  }
  // Most requests without a session never get here: no scanning, no allocation.
  if (source === undefined) return NOTHING_READ

  const limit = maxChunks >= 1 ? Math.min(Math.floor(maxChunks), MAX_CHUNK_INDEX) : 0
  const last = limit + STALE_CHUNK_SLACK
  let plain: string | undefined
  // Index i holds `name.i`'s value; only indexes up to `last` are ever kept.
  let chunks: (string | undefined)[] | undefined
  for (let at = source.indexOf(name); at !== -1; at = source.indexOf(name, at + 1)) {
    const pair = pairAt(source, at, name, last)
    if (pair === undefined) continue
    const { index, value } = pair
    if (index === -1) plain ??= value
    else {
      chunks ??= []
      chunks[index] ??= value
    }
  }

  const present: string[] = []
  if (plain !== undefined) present.push(name)
  if (chunks === undefined) return { value: plain, present }
  let chunked: string | undefined
  let contiguous = true
  for (let i = 0; i <= last; i++) {
    const chunk = chunks[i]
    if (chunk === undefined) {
      contiguous = false
      continue
    }
    present.push(`${name}.${i}`)
    if (contiguous && i < limit) chunked = chunked === undefined ? chunk : chunked + chunk
  }
  return { value: chunked ?? plain, present }
}

const isBlank = (c: number) => c === 0x20 || c === 0x09

/**
 * The pair whose name starts at `at`, when that name is `name` (index -1) or `name.<i>` with `i`
 * written canonically and at most `last`; else undefined (the text at `at` is part of some other
 * name or of a value).
 */
function pairAt(
  source: string,
  at: number,
  name: string,
  last: number,
): { index: number; value: string } | undefined {
  // Only blanks between the previous `;` (or the start) and the name: else it is inside another pair.
  for (let i = at - 1; i >= 0; i--) {
    const c = source.charCodeAt(i)
    if (c === 0x3b /* ; */) break
    if (!isBlank(c)) return undefined
  }
  let i = at + name.length
  let index = -1
  if (source.charCodeAt(i) === 0x2e /* . */) {
    const digits = ++i
    let n = 0
    while (i < source.length) {
      const c = source.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      n = n * 10 + (c - 0x30)
      i++
      // Past the last index kept: not a name this codec reads, whatever follows.
      if (n > last) return undefined
    }
    // `name.` alone, or a leading zero (`name.01` is not `name.1`): some other cookie.
    if (i === digits || (source.charCodeAt(digits) === 0x30 && i - digits > 1)) return undefined
    index = n
  }
  while (i < source.length && isBlank(source.charCodeAt(i))) i++
  if (source.charCodeAt(i) !== 0x3d /* = */) return undefined
  let start = i + 1
  let end = source.indexOf(';', start)
  if (end === -1) end = source.length
  while (start < end && isBlank(source.charCodeAt(start))) start++
  while (end > start && isBlank(source.charCodeAt(end - 1))) end--
  return { index, value: source.slice(start, end) }
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
