/** The sealer's public shapes (sealer.ts implements them) and the failures it answers with. */

/** A secret string (key id `''`), or `{ [keyId]: secret }` for rotation: the last id seals. */
export type SecretInput = string | Readonly<Record<string, string>>

export interface SealerOptions {
  /**
   * Unseal results remembered, by token, for unchanged cookies, and as many tokens whose seal proved
   * false (within a megabyte), so a forged token sent again costs no crypto; `0` disables both. @default 1000
   */
  cacheSize?: number
  /** Longest token (characters) even looked at; longer ones are rejected before any work. @default 8192 */
  maxTokenLength?: number
  /** Which crypto implementation: `node:crypto` where available, else Web Crypto. @default 'auto' */
  backend?: 'auto' | 'web'
}

/**
 * A payload serialized already (by a caller that had its JSON at hand): sealed as this text, not
 * passed through `JSON.stringify` again. The caller vouches that it is valid JSON.
 */
export class SerializedJson {
  constructor(readonly json: string) {}
}

export interface Sealer {
  /** The key id new seals carry (`''` for a plain string secret). */
  readonly currentKeyId: string
  /**
   * Seals any JSON-serializable value under the newest key. `expiresAt` (epoch ms, integer) becomes
   * iron's expiration field. Throws `NOT_SERIALIZABLE` when `JSON.stringify` throws or gives
   * nothing, `INVALID_OPTION` for a bad `expiresAt`, and `TOO_LARGE` when the token would exceed
   * `maxTokenLength` (it could never be read).
   */
  seal(payload: unknown, expiresAt: number): Promise<string>
  /**
   * Verifies and opens a token. `now`: epoch ms; `maxLifetimeMs`: the largest lifetime any token of
   * this app may have. Never throws: every failure is a reason. A payload answered from the cache is
   * shared by every hit of that token and deep-frozen: copy it before changing anything in it.
   */
  unseal(token: string, now: number, maxLifetimeMs: number): Promise<UnsealResult>
  /**
   * {@link seal} without a promise: the same token format and the same errors, thrown. Present only
   * when the backend is `node:crypto`; Web Crypto has no synchronous API, so there it is undefined.
   */
  sealSync?(payload: unknown, expiresAt: number): string
  /**
   * {@link unseal} without a promise, cache hits included: the same results, never throws. Present
   * only when the backend is `node:crypto` (undefined on Web Crypto, as {@link sealSync}).
   */
  unsealSync?(token: string, now: number, maxLifetimeMs: number): UnsealResult
  /**
   * Answers from the unseal cache alone, on every backend: the result {@link unseal} would give when
   * `token` is a token this sealer verified before and still remembers (`ok`, or `expired` /
   * `bad-expiry` as checked against `now` and `maxLifetimeMs` on every call), or one whose seal it
   * found false before and still remembers (`bad-seal`), else `undefined`:
   * then call `unseal` (or `unsealSync`). Does no crypto and never throws; a hit counts as a use for
   * the cache's eviction order, exactly as in `unseal`.
   */
  unsealCached(token: string, now: number, maxLifetimeMs: number): UnsealResult | undefined
}

export type UnsealFailure = 'malformed' | 'bad-seal' | 'bad-expiry' | 'expired' | 'unknown-key'

export type UnsealResult =
  | { ok: true; payload: unknown; keyId: string; expiresAt: number }
  | { ok: false; reason: UnsealFailure; keyId?: string }

export const kMalformed: UnsealResult = Object.freeze({ ok: false, reason: 'malformed' })
export const kBadSeal: UnsealResult = Object.freeze({ ok: false, reason: 'bad-seal' })
export const kBadExpiry: UnsealResult = Object.freeze({ ok: false, reason: 'bad-expiry' })
export const kExpired: UnsealResult = Object.freeze({ ok: false, reason: 'expired' })

/** `<= now` is expired; beyond `now + maxLifetimeMs` was never issued by this app. NaN fails closed. */
export function checkExpiry(expiresAt: number, now: number, maxLifetimeMs: number): UnsealResult | undefined {
  if (!(expiresAt > now)) return kExpired
  if (!(expiresAt <= now + maxLifetimeMs)) return kBadExpiry
  return undefined
}
