/**
 * What a commit hands the adapter: the `Set-Cookie` values that carry (or clear) the token, chunked
 * as needed, or the token header, with the `Cache-Control` that keeps shared caches out. The
 * decisions of when and for how long are `validity.ts`'s; this module only writes them down.
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { CommitResult, RequestInfo, ResponseInfo } from '../manager.js'
import type { ResolvedOptions } from '../options.js'
import { privateCacheControl } from './cache-control.js'
import { clearSessionCookie, serializeSessionCookie } from './cookie.js'
import type { Prelude } from './token-transport.js'
import { cookieExpires, cookieMaxAge } from './validity.js'

/** Nothing to send. Shared and frozen: most requests answer it. */
export const NO_HEADERS: CommitResult = Object.freeze({
  setCookie: [],
  headers: [],
}) as unknown as CommitResult

/** When a token goes out, and until when it is valid. */
export interface Emission {
  /** A browser-session cookie: sent without Max-Age and Expires. */
  browser: boolean
  now: number
  expiresAt: number
}

/** The headers that carry `token`: the cookie (chunked as needed), or the token header. */
export function tokenHeaders(
  opts: ResolvedOptions,
  prelude: Prelude,
  request: RequestInfo,
  token: string,
  emission: Emission,
  response: ResponseInfo,
): CommitResult {
  const { now, expiresAt } = emission
  if (prelude.transport === 'header') {
    if (token.length > opts.maxTotalSize) {
      throw new SessionError(
        SessionErrorCode.TOO_LARGE,
        `the session token takes ${token.length} bytes, over the ${opts.maxTotalSize}-byte limit; store less data in it or use a server store`,
      )
    }
    return headerTransport(opts, token, response)
  }
  const maxAge = cookieMaxAge(now, expiresAt, emission.browser)
  const expires = cookieExpires(now, maxAge)
  const setCookie = serializeSessionCookie(
    opts.cookie,
    token,
    maxAge,
    expires === undefined ? undefined : new Date(expires),
    prelude.present,
    // Read only now: an adapter may make `secure` a getter over a costly lookup.
    request.secure === true,
    {
      maxChunks: opts.maxChunks,
      maxTotal: opts.maxTotalSize,
    },
  )
  return { setCookie, headers: [], cacheControl: privateCacheControl(response.cacheControl) }
}

/** The headers that end the client's session: every chunk of the cookie expired, or an empty token header. */
export function clearingHeaders(
  opts: ResolvedOptions,
  prelude: Prelude,
  request: RequestInfo,
  response: ResponseInfo,
): CommitResult {
  if (prelude.transport === 'header') return headerTransport(opts, '', response)
  const setCookie = clearSessionCookie(opts.cookie, prelude.present, request.secure === true)
  return setCookie.length
    ? { setCookie, headers: [], cacheControl: privateCacheControl(response.cacheControl) }
    : NO_HEADERS
}

/** Header transport: the token, or an empty value that tells the client to drop its own. */
function headerTransport(opts: ResolvedOptions, token: string, response: ResponseInfo): CommitResult {
  const name = (opts.tokenHeader as { name: string }).name
  return {
    setCookie: [],
    headers: [[name, token]],
    cacheControl: privateCacheControl(response.cacheControl),
  }
}
