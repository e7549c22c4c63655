/**
 * What a session's token says: the claim an unsealed token makes (before the store and the clock
 * are consulted), and the payload a commit seals. The wire format itself is `payload.ts`; how the
 * token travels is `token-transport.ts`.
 */
import type { ResolvedOptions } from '../options.js'
import { type Data, type SessionState, snapshotOf } from '../session.js'
import type { Lifetime } from './lifetime.js'
import { payloadJson, readPayload } from './payload.js'
import { sessionIdOf } from './request-state.js'
import { SerializedJson, type UnsealResult } from './sealer.js'

/** The cookie (or header) side of a session: what the seal said, before the store is consulted. */
export interface Claim {
  id: string
  createdAt: number
  refreshedAt: number
  /** Cookie store: the data sealed in. */
  data: Data | undefined
  user: string | undefined
  keyId: string | undefined
  /** The session's own lifetime sealed into the token, if it has one. */
  lifetime: Lifetime | undefined
  /** The token itself and the expiry iron sealed into it. */
  token: string
  tokenExpiresAt: number
}

/** What an unsealed token claims, or `undefined` (with the reason reported) when it is no session. */
export function openClaim(opts: ResolvedOptions, unsealed: UnsealResult, token: string): Claim | undefined {
  const { cookie, store, emit } = opts
  if (!unsealed.ok) {
    if (unsealed.reason === 'unknown-key') {
      // A newer deploy sealed it: this instance cannot read it, but must not delete it either.
      emit({ type: 'unknown-key', keyId: unsealed.keyId ?? '', cookie: cookie.name })
    } else if (unsealed.reason === 'expired') {
      emit({ type: 'expired', reason: 'lifetime', cookie: cookie.name })
    } else {
      emit({ type: 'invalid', reason: unsealed.reason, cookie: cookie.name })
    }
    return undefined
  }
  const payload = readPayload(unsealed.payload, cookie.name, store === undefined)
  if (!payload) {
    emit({ type: 'invalid', reason: 'bad-payload', cookie: cookie.name })
    return undefined
  }
  return {
    id: payload.id,
    createdAt: payload.c,
    refreshedAt: payload.r,
    data: payload.d,
    user: payload.u,
    keyId: unsealed.keyId,
    token,
    lifetime: payload.l,
    tokenExpiresAt: unsealed.expiresAt,
  }
}

/** The claim a loaded session makes again for `reload()`: checked anew, never sent back as it is. */
export function reloadClaim(state: SessionState): Claim {
  return {
    id: state.id,
    createdAt: state.createdAt,
    refreshedAt: state.refreshedAt,
    // The cookie store holds nothing newer than the request's own seal: unsaved changes are dropped.
    data: state.dirty ? (JSON.parse(snapshotOf(state)) as Data) : state.data,
    user: state.user,
    keyId: state.keyId,
    lifetime: state.lifetime,
    // Read again from the store, not from a token: nothing here is sent back as it came.
    token: '',
    tokenExpiresAt: 0,
  }
}

/**
 * The sealed payload's JSON ({@link Payload}), around `dataJson`: the data as the commit just
 * serialized it, which the seal then does not serialize a second time.
 */
export function payloadOf(opts: ResolvedOptions, state: SessionState, dataJson: string): SerializedJson {
  return new SerializedJson(
    payloadJson({
      id: sessionIdOf(state),
      cookieName: opts.cookie.name,
      createdAt: state.createdAt,
      refreshedAt: state.refreshedAt,
      dataJson: opts.store ? undefined : dataJson,
      user: state.user,
      lifetime: state.lifetime,
    }),
  )
}
