import { readSessionCookie } from './internal/cookie.js'
import { type Payload, readPayload } from './internal/payload.js'
import { createSealer, type SecretInput } from './internal/sealer.js'
import { defaults } from './options.js'

export interface InspectOptions {
  /** The app's `secret`: a string, or the `{ [keyId]: secret }` map. */
  secret: SecretInput
  /** The session cookie's name, which the seal is bound to. @default 'session' */
  cookieName?: string
  /** The app's `idleTimeout`, in seconds. @default 604800 (7 days) */
  idleTimeout?: number
  /** The app's `absoluteTimeout`, in seconds. @default 2592000 (30 days) */
  absoluteTimeout?: number
  /** Cookies one session may be split into, as the app's `cookie.maxChunks`. @default 2 */
  maxChunks?: number
  /** The time to judge expiry at, in epoch milliseconds. @default Date.now() */
  now?: number
}

/** Why a cookie or token is no session, in the words of `onEvent`'s reasons. */
export type InspectFailure =
  /** Neither a token nor a cookie of that name was found in the input. */
  | 'no-cookie'
  /** Over the size limit, or not of the Fe26.2 shape. */
  | 'malformed'
  /** Tampered, sealed by another secret, or a non-canonical encoding. */
  | 'bad-seal'
  /** No iron expiry, or one beyond the configured lifetime. */
  | 'bad-expiry'
  /** Sealed under a key id the given secret map does not have. */
  | 'unknown-key'
  /** A valid seal that is not a session of this library for this cookie name. */
  | 'bad-payload'
  /** The seal's own expiry has passed. */
  | 'expired-lifetime'
  /** No activity within `idleTimeout`. */
  | 'expired-idle'
  /** Older than `absoluteTimeout`. */
  | 'expired-absolute'

export interface SessionInspection {
  /** Key id the token was sealed under (`''` for a plain string secret). */
  keyId: string
  /**
   * The version of the sealed payload's shape: `2` for the current releases, `1` for a cookie
   * sealed by an earlier one (still read, and re-sealed as `2` on its next write).
   */
  payloadVersion: 1 | 2
  /** The session id: with a server store, the key of its record. */
  id: string
  /** Epoch ms of the session's creation; `absoluteTimeout` counts from here. */
  createdAt: number
  /** Epoch ms of the last write or rolling refresh the token saw; `idleTimeout` counts from here. */
  refreshedAt: number
  /** Epoch ms at which the session ends unless refreshed (the earlier of idle and absolute). */
  expiresAt: number
  /** Epoch ms of iron's own expiry sealed into the token. */
  tokenExpiresAt: number
  /** The user `bindUser()` bound the session to, if any. */
  user?: string
  /** The session data (cookie store). A server store's token carries none: see `serverStore`. */
  data?: Record<string, unknown>
  /**
   * The token names a server-store session: the data, and the times that decide idle expiry, are
   * in the store; the times here are those at which the token was sealed.
   */
  serverStore: boolean
}

export type InspectResult =
  | ({ ok: true } & SessionInspection)
  | { ok: false; reason: InspectFailure; keyId?: string }

const kTokenPrefix = 'Fe26.2*'

/**
 * Opens a session cookie the way the engine does, for debugging and for other services that read
 * it: `input` is a token (`Fe26.2*...`), a `Cookie` header or a `name=value` pair (chunks
 * included). Throws only for an unusable secret (`ERR_SESSION_INVALID_SECRET`); for any input it
 * says why it is no session. Revocations and server-store records are not consulted.
 */
export async function inspectSession(input: string, options: InspectOptions): Promise<InspectResult> {
  const cookieName = options.cookieName ?? defaults.cookie.name
  const idleMs = (options.idleTimeout ?? defaults.idleTimeout) * 1000
  const absoluteMs = (options.absoluteTimeout ?? defaults.absoluteTimeout) * 1000
  const now = options.now ?? Date.now()
  // First, so a secret that could never have sealed anything is an error, whatever the input.
  const sealer = createSealer(options.secret, { cacheSize: 0 })
  const trimmed = input.trim()
  const token = trimmed.startsWith(kTokenPrefix)
    ? trimmed
    : readSessionCookie(trimmed, cookieName, options.maxChunks ?? defaults.cookie.maxChunks).value
  if (token === undefined) return { ok: false, reason: 'no-cookie' }
  const unsealed = await sealer.unseal(token, now, absoluteMs)
  if (!unsealed.ok) {
    const reason = unsealed.reason === 'expired' ? 'expired-lifetime' : unsealed.reason
    return unsealed.keyId === undefined ? { ok: false, reason } : { ok: false, reason, keyId: unsealed.keyId }
  }
  const payload: Payload | undefined =
    readPayload(unsealed.payload, cookieName, true) ?? readPayload(unsealed.payload, cookieName, false)
  if (!payload) return { ok: false, reason: 'bad-payload', keyId: unsealed.keyId }

  const serverStore = payload.d === undefined
  // A server store keeps the idle time in its record: the token's refresh time is not the session's.
  const idleEnd = serverStore ? Number.POSITIVE_INFINITY : payload.r + idleMs
  const absoluteEnd = payload.c + absoluteMs
  if (now >= absoluteEnd) return { ok: false, reason: 'expired-absolute', keyId: unsealed.keyId }
  if (now >= idleEnd) return { ok: false, reason: 'expired-idle', keyId: unsealed.keyId }
  return {
    ok: true,
    keyId: unsealed.keyId,
    payloadVersion: payload.v,
    id: payload.id,
    createdAt: payload.c,
    refreshedAt: payload.r,
    expiresAt: Math.min(idleEnd, absoluteEnd, unsealed.expiresAt),
    tokenExpiresAt: unsealed.expiresAt,
    ...(payload.u === undefined ? {} : { user: payload.u }),
    ...(serverStore ? {} : { data: payload.d }),
    serverStore,
  }
}
