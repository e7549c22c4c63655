/**
 * Every decision about a session's time: is it expired, is a rolling refresh due, is a re-seal due,
 * what `Max-Age` its cookie gets, how long the store keeps it. Plain functions of (state, time,
 * options): the request cycle orders them, the tests in `test/validity.test.ts` pin them down.
 * Times are epoch milliseconds, durations milliseconds unless the name says seconds.
 */
import type { ResolvedOptions } from '../options.js'
import type { SessionState } from '../session.js'
import { type Lifetime, rollingOf, sameLifetime, timeoutsOf } from './lifetime.js'

/** Browsers cap cookie lifetimes at 400 days; a longer Max-Age is cut silently, so never send one. */
export const MAX_COOKIE_AGE = 400 * 86_400

/** The configured timeouts the decisions read. */
export type Timeouts = Pick<ResolvedOptions, 'idleMs' | 'absoluteMs' | 'rollingMs'>

/** A session's times, as the decisions read them (its own lifetime overrides the configured one). */
export type Times = Pick<SessionState, 'createdAt' | 'refreshedAt' | 'lifetime'>

/**
 * Why a session's time is up at `now`, or `undefined` while it is live. The absolute limit wins.
 * Its times as arguments: the load takes them from a store record or a token, with no object made.
 */
export function expiredReason(
  createdAt: number,
  refreshedAt: number,
  lifetime: Lifetime | undefined,
  now: number,
  opts: Timeouts,
): 'idle' | 'absolute' | undefined {
  const { idleMs, absoluteMs } = timeoutsOf(lifetime, opts.idleMs, opts.absoluteMs)
  if (now >= createdAt + absoluteMs) return 'absolute'
  if (now >= refreshedAt + idleMs) return 'idle'
  return undefined
}

/** When the session ends if nothing refreshes it: its idle or its absolute limit, the earlier. */
export function expiresAt(times: Times, opts: Timeouts): number {
  const { idleMs, absoluteMs } = timeoutsOf(times.lifetime, opts.idleMs, opts.absoluteMs)
  return Math.min(times.refreshedAt + idleMs, times.createdAt + absoluteMs)
}

/**
 * A rolling refresh is due: an unchanged session re-sends its token to slide the idle window.
 * Judged at `readAt`, the time the request was read, so load and commit agree.
 */
export function refreshDue(times: Times, readAt: number, opts: Timeouts): boolean {
  const { idleMs } = timeoutsOf(times.lifetime, opts.idleMs, opts.absoluteMs)
  return readAt - times.refreshedAt >= rollingOf(times.lifetime, opts.rollingMs, idleMs)
}

/** The token was sealed under an older key: the response re-seals it under the newest (K3). */
export function rotationDue(state: Pick<SessionState, 'keyId'>, currentKeyId: string): boolean {
  return state.keyId !== undefined && state.keyId !== currentKeyId
}

/**
 * Why a loaded session's commit sends its token (and may write the store), or `'none'`:
 * - `changed`: the data serializes differently from what was loaded (a write);
 * - `refresh`: a rolling refresh is due, or `touch()` asked for one (slides the idle window);
 * - `forced`: `regenerate()`, `save()`, `setLifetime()` need the token sent whatever the data;
 * - `rotate`: only a re-seal under the newest key, which does not slide the idle window.
 * A new session is sent only when written to or forced: a due refresh has nothing to refresh.
 */
export type Resend = 'none' | 'changed' | 'refresh' | 'forced' | 'rotate'

export function resendReason(
  state: Times & Pick<SessionState, 'isNew' | 'forceEmit' | 'forceRefresh' | 'keyId'>,
  changed: boolean,
  readAt: number,
  opts: Timeouts,
  currentKeyId: string,
): Resend {
  if (state.isNew && !changed && !state.forceEmit) return 'none'
  if (changed) return 'changed'
  if (state.forceRefresh || refreshDue(state, readAt, opts)) return 'refresh'
  if (state.forceEmit) return 'forced'
  if (rotationDue(state, currentKeyId)) return 'rotate'
  return 'none'
}

/** Whether sending the token slides the idle window: anything but a re-seal under a newer key. */
export function slides(reason: Resend): boolean {
  return reason !== 'none' && reason !== 'rotate'
}

/**
 * The cookie's `Max-Age` in seconds (whole, never above the browsers' 400-day cap), or
 * `undefined` for a browser-session cookie, sent without `Max-Age` and `Expires`.
 */
export function cookieMaxAge(now: number, expiresAt: number, browser: boolean): number | undefined {
  return browser ? undefined : Math.min(MAX_COOKIE_AGE, Math.floor((expiresAt - now) / 1000))
}

/** The cookie's `Expires` (epoch ms), the same instant as its `Max-Age` from `now`. */
export function cookieExpires(now: number, maxAge: number | undefined): number | undefined {
  return maxAge === undefined ? undefined : now + maxAge * 1000
}

/**
 * When the token itself expires (iron's ttl). Server stores: the token only names the session (the
 * store holds its data and its times), so it lasts the session's whole absolute lifetime and can be
 * sent again unchanged. The cookie store's token is the data, and its expiry is the session's.
 */
export function sealExpiry(times: Times, expiresAt: number, opts: Timeouts, serverStore: boolean): number {
  if (!serverStore) return expiresAt
  return times.createdAt + timeoutsOf(times.lifetime, opts.idleMs, opts.absoluteMs).absoluteMs
}

/** What a server-store token names, as the request carried it. */
export interface TokenClaim {
  id: string
  user: string | undefined
  keyId: string | undefined
  lifetime: Lifetime | undefined
  tokenExpiresAt: number
}

/**
 * A server-store response can send the request's own token again, unsealed and unchanged (no
 * re-seal due): it names the same id, user and lifetime under the newest key, and lasts long enough.
 */
export function tokenReusable(
  claim: TokenClaim,
  state: Pick<SessionState, 'id' | 'isNew' | 'user' | 'lifetime'>,
  currentKeyId: string,
  expiresAt: number,
): boolean {
  return (
    !state.isNew &&
    claim.id === state.id &&
    claim.user === state.user &&
    claim.keyId === currentKeyId &&
    sameLifetime(claim.lifetime, state.lifetime) &&
    claim.tokenExpiresAt >= expiresAt
  )
}

/** How long (whole seconds, at least 1) a store keeps a session that ends at `expiresAt`. */
export function storeTtl(expiresAt: number, now: number): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000))
}

/**
 * How long (whole seconds, at least 1) the revocation of one session is kept: until its token would
 * have ended anyway, as nothing sealed for it outlives the configured absolute limit.
 */
export function revocationTtl(createdAt: number, now: number, opts: Pick<Timeouts, 'absoluteMs'>): number {
  return Math.max(1, Math.ceil((createdAt + opts.absoluteMs - now) / 1000))
}

/**
 * The instant a revocation takes effect from: later than the session's creation even within the
 * same millisecond, so the check `createdAt < notBefore` holds for it.
 */
export function revokedFrom(createdAt: number, now: number): number {
  return Math.max(now, createdAt + 1)
}

/** Whether a session created at `createdAt` is revoked by any of the `notBefore` times found. */
export function isRevoked(createdAt: number, notBefore: ReadonlyArray<number | undefined>): boolean {
  for (const time of notBefore) if (time !== undefined && createdAt < time) return true
  return false
}
