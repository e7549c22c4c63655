/**
 * The `tokenHeader` option (the session token in a request header, for clients without cookies):
 * its name is checked at configuration time against the headers HTTP already gives a meaning (T11).
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { ResolvedOptions, SessionOptions } from '../options.js'

function invalid(message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, message)
}

/** RFC 9110 field-name characters. */
const kFieldName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/**
 * Header names with a meaning in HTTP, which a session token must never pose as (T11): a proxy,
 * cache or browser acts on them, so a token there would be dropped, misread or acted upon
 * (`Transfer-Encoding: Fe26.2**...` beside `Content-Length` breaks the response's framing).
 */
const kForbiddenHeaders: ReadonlySet<string> = new Set([
  // hop-by-hop (RFC 9110 7.6.1) and framing
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  // caching (RFC 9111) and conditional requests
  'cache-control',
  'expires',
  'pragma',
  'age',
  'etag',
  'last-modified',
  'vary',
  'warning',
  // authentication
  'authorization',
  'www-authenticate',
  'authentication-info',
  // routing, redirects, cookies, CORS
  'cookie',
  'set-cookie',
  'host',
  'location',
  'origin',
  'referer',
  'forwarded',
  'via',
  'date',
  'server',
  'range',
  'accept',
  'user-agent',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
])
/** Whole families: representation (`Content-*`), conditionals (`If-*`), CORS, proxies, fetch metadata. */
const kForbiddenPrefixes = ['content-', 'if-', 'access-control-', 'proxy-', 'sec-', 'accept-'] as const

export function resolveTokenHeader(value: SessionOptions['tokenHeader']): ResolvedOptions['tokenHeader'] {
  if (value === undefined) return undefined
  const { name, cookie = true } = typeof value === 'string' ? { name: value } : (value ?? ({} as never))
  if (typeof name !== 'string' || !kFieldName.test(name))
    invalid(`tokenHeader must be a header name such as 'X-Session-Token', got ${JSON.stringify(name)}`)
  const key = name.toLowerCase()
  if (kForbiddenHeaders.has(key) || kForbiddenPrefixes.some((prefix) => key.startsWith(prefix)))
    invalid(
      `tokenHeader cannot be ${name}: it has a meaning in HTTP; choose a header of your own, such as 'X-Session-Token'`,
    )
  if (typeof cookie !== 'boolean') invalid('tokenHeader.cookie must be a boolean')
  return { name, key, cookie }
}
