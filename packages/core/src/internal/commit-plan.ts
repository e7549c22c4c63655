/**
 * What a request's commit must do with its session, decided before anything is sealed or written:
 * nothing, clear the client's token, or send it (and what the store then needs). The time rules
 * it applies are `validity.ts`'s; this module adds what the data says (was it changed?).
 */
import type { ResolvedOptions } from '../options.js'
import { type SessionState, snapshotOf } from '../session.js'
import { isEmpty, serialize } from './request-state.js'
import type { Emission } from './response-headers.js'
import { expiresAt as expiryOf, type Resend, resendReason, slides } from './validity.js'

/** A commit that must seal (and maybe write the store) before it can answer. */
export interface Step extends Emission {
  /** The data's JSON as this commit serialized it (sealed into the cookie, or compared by the store). */
  json: string
  reason: Resend
}

/**
 * The commit of a loaded session: `'none'` (send nothing), `'clear'` (end the client's session),
 * or the step that seals the token. A step slides the session's idle window (`refreshedAt`) unless
 * it only re-seals under a newer key. `readAt` is the time the request was read.
 */
export function planCommit(
  opts: ResolvedOptions,
  state: SessionState,
  readAt: number,
  currentKeyId: string,
): Step | 'none' | 'clear' {
  if (state.status === 'failed' || state.readOnly) return 'none'
  if (state.status === 'destroyed') return 'clear'
  // A new session nobody wrote to: no serializing, no id, nothing to send (E1, E2).
  if (state.isNew && !state.forceEmit && isEmpty(state.data)) return 'none'

  // Nothing that could change the data happened: no need to serialize it to find out.
  const json = state.dirty ? serialize(state.data) : undefined
  const changed = json !== undefined && json !== snapshotOf(state)
  const reason = resendReason(state, changed, readAt, opts, currentKeyId)
  if (reason === 'none') return 'none'
  const now = opts.clock()
  // A key rotation alone re-seals without sliding the idle window: loading never extends a session.
  if (slides(reason)) state.refreshedAt = now
  const expiresAt = expiryOf(state, opts)
  if (expiresAt <= now) return 'clear'
  return { json: json ?? snapshotOf(state), now, expiresAt, reason, browser: state.lifetime?.b === 1 }
}

/**
 * Whether a response that went out without the session lost something it should have carried: a
 * new or changed session, or (cookie store) a logout's clearing. A server-store logout is done.
 */
export function unsentChange(state: SessionState, serverStore: boolean): boolean {
  if (state.status === 'destroyed') return !serverStore
  return state.forceEmit || state.pendingWrite || (state.dirty && serialize(state.data) !== snapshotOf(state))
}
