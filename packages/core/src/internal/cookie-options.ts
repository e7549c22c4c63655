import { type SerializeOptions, serialize } from 'cookie'
import { SessionError, SessionErrorCode } from '../errors.js'

// The session cookie's options: checked once at configuration time (CONFORMANCE C1, C2), and the
// attributes they fix worked out then, so that each write only concatenates (cookie-write.ts).

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

// Values are base64url plus `*`: %-decoding would let `%41` and `A` name the same token (T3), and
// %-encoding would only inflate a value that never needs it.
const raw = (value: string): string => value
export const EPOCH = new Date(0)

const HOST_PREFIX = '__host-'
const SECURE_PREFIX = '__secure-'
const SAME_SITE: ReadonlySet<unknown> = new Set(['lax', 'strict', 'none', false])
const PRIORITY: ReadonlySet<unknown> = new Set(['low', 'medium', 'high', undefined])
const SECURE: ReadonlySet<unknown> = new Set([true, false, 'auto'])

export function invalid(message: string, cause?: unknown): never {
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
export interface FixedAttributes {
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
export function attributesOf(opts: Readonly<CookieOptions>): FixedAttributes {
  return validated.get(opts) ?? validated.get(validateCookieOptions(opts))!
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
