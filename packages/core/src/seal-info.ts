/** What an Fe26.2 seal carries in the clear. */
export interface SealInfo {
  /** The id of the key that sealed it: a key of a `secret` map, or `''` for a single secret. */
  readonly keyId: string
  /** When the seal lapses, as written into it at sealing. */
  readonly expiresAt: Date
}

/** Longer than any cookie a browser keeps (about 4 KB per cookie, a few chunks): no need to split it. */
const MAX_LENGTH = 65_536
const FIELDS = 8
const KEY_ID = /^\w*$/
const EXPIRATION = /^[1-9]\d{0,15}$/

/**
 * Reads the key id and expiry an Fe26.2 seal (a session cookie's value, its chunks joined in
 * order, or a header-transport token) carries in the clear, with no secret and **no check at all**:
 * a forged token reads as well as a genuine one. For display and diagnostics only (which key sealed
 * this cookie, when it lapses); the session itself comes from the engine, which verifies.
 *
 * @returns `undefined` for anything not of the seal's shape, or a seal without an expiry.
 */
export function inspectSeal(token: unknown): SealInfo | undefined {
  if (typeof token !== 'string' || token.length > MAX_LENGTH || !token.startsWith('Fe26.2*')) return undefined
  const parts = token.split('*', FIELDS + 1)
  if (parts.length !== FIELDS) return undefined
  const keyId = parts[1] as string
  const expiration = parts[5] as string
  if (!KEY_ID.test(keyId) || !EXPIRATION.test(expiration)) return undefined
  const expiresAt = new Date(Number(expiration))
  if (Number.isNaN(expiresAt.getTime())) return undefined
  return { keyId, expiresAt }
}
