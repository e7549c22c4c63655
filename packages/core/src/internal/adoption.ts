/**
 * Migrating from another library (`adopt`, X): the old library's cookies a request carries when it
 * carries no session of this one, the first legacy session carried over into a new one, and the old
 * cookies retired on the response.
 */
import type { AdoptedSession } from '../adopt.js'
import type { CommitResult, RequestInfo, ResponseInfo } from '../manager.js'
import type { ResolvedOptions } from '../options.js'
import { loadedData, markDirty, RESERVED_KEYS, type SessionState } from '../session.js'
import { privateCacheControl } from './cache-control.js'
import { clearSessionCookie, readSessionCookie } from './cookie.js'
import { isPlainObject } from './payload.js'

/** A cookie of a library being left, as the request carried it, with the reader that opens it. */
export interface LegacyCookie {
  entry: ResolvedOptions['adopt'][number]
  value: string
}

/** The legacy cookies (`adopt`) the request carries. */
export function legacyCookiesOf(
  opts: ResolvedOptions,
  cookieHeader: RequestInfo['cookieHeader'],
): LegacyCookie[] {
  const found: LegacyCookie[] = []
  for (const entry of opts.adopt) {
    const { value } = readSessionCookie(cookieHeader, entry.reader.cookieName, 0)
    if (value !== undefined) found.push({ entry, value })
  }
  return found
}

/**
 * Carries the first legacy session the cookies name into `state` (a new session) and returns its
 * cookie, or `undefined` when none names one. A reader that throws (its store is down) throws.
 */
export async function adoptInto(
  opts: ResolvedOptions,
  state: SessionState,
  legacy: readonly LegacyCookie[],
  now: number,
): Promise<LegacyCookie | undefined> {
  for (const cookie of legacy) {
    const adopted: AdoptedSession | undefined = await cookie.entry.reader.read(cookie.value, now)
    const source = adopted !== undefined && isPlainObject(adopted.data) ? adopted.data : undefined
    opts.emit({
      type: 'legacy',
      from: cookie.entry.reader.name,
      outcome: source ? 'adopted' : 'no-session',
    })
    if (!source) continue
    const data = loadedData(source)
    markDirty(state)
    for (const key of Object.keys(data)) if (!RESERVED_KEYS.has(key)) state.data[key] = data[key]
    return cookie
  }
  return undefined
}

/**
 * The old library's cookies are cleared on this response, read or not, and a session carried
 * over is ended there (after this library's session was stored), so its cookie cannot be replayed.
 */
export async function retireLegacy(
  opts: ResolvedOptions,
  legacy: readonly LegacyCookie[],
  adopted: LegacyCookie | undefined,
  request: RequestInfo,
  result: CommitResult,
  response: ResponseInfo,
): Promise<CommitResult> {
  if (adopted?.entry.reader.retire) {
    try {
      await adopted.entry.reader.retire(adopted.value)
    } catch (error) {
      // The new session is already stored and sent: an old one left behind only lives out its time.
      opts.emit({ type: 'store-error', operation: 'delete', error })
    }
  }
  const secure = request.secure === true
  const clears = legacy.flatMap(({ entry }) =>
    clearSessionCookie(entry.cookie, [entry.reader.cookieName], secure),
  )
  return {
    setCookie: [...result.setCookie, ...clears],
    headers: result.headers,
    cacheControl: result.cacheControl ?? privateCacheControl(response.cacheControl),
  }
}
