/**
 * The sealer's memory of tokens it has judged: the key its caches use, a bounded LRU insert, and
 * the bounded set of tokens whose seal proved false.
 */

import type { UnsealResult } from './seal-types.js'

const kMacBytes = 32
/** Characters of the unpadded base64url of a {@link kMacBytes} MAC. */
const kMacChars = Math.ceil((kMacBytes * 4) / 3)
/**
 * Characters of forged tokens the failure cache may hold in all (besides its entry bound, the
 * unseal cache's size): a megabyte, however long the tokens an attacker sends.
 */
const kFailureChars = 1_000_000

/**
 * The cache key of a token: its last {@link kMacChars} characters, where a well-formed token has its
 * MAC. Hashing a 43-character key instead of the whole token (often 700 characters and more, and a
 * new string on every request) is most of a cache hit's cost; an entry only counts when its full
 * token is equal too.
 */
export function resultKey(token: string): string {
  return token.length > kMacChars ? token.slice(-kMacChars) : token
}

/** Map-based LRU: `Map` iterates in insertion order, so re-inserting on use keeps the oldest first. */
export function remember<V>(map: Map<string, V>, limit: number, key: string, value: V): void {
  if (limit <= 0) return
  map.delete(key)
  if (map.size >= limit) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(key, value)
}

/**
 * Tokens whose seal proved false, by {@link resultKey} (the whole token must match): a forged token
 * sent again costs no key derivation and no MAC. Unlike a success, a failure may be remembered by
 * the raw string: the same characters fail the same checks under the same secrets, for the life of
 * this sealer, whatever their encoding.
 */
export class FailureCache {
  readonly #failures = new Map<string, string>()
  #failureChars = 0
  readonly #limit: number

  constructor(limit: number) {
    this.#limit = limit
  }

  /** True when `token` failed its integrity check before and is still remembered. */
  has(token: string): boolean {
    if (this.#failures.size === 0) return false
    return this.#failures.get(resultKey(token)) === token
  }

  /** Remembers that `token`'s seal is false (bounded in entries and characters). */
  add(token: string): void {
    const limit = this.#limit
    if (limit <= 0 || token.length > kFailureChars) return
    const key = resultKey(token)
    const old = this.#failures.get(key)
    if (old !== undefined) {
      this.#failures.delete(key)
      this.#failureChars -= old.length
    }
    while (this.#failures.size >= limit || this.#failureChars + token.length > kFailureChars) {
      const oldest = this.#failures.entries().next()
      if (oldest.done === true) break
      this.#failures.delete(oldest.value[0])
      this.#failureChars -= oldest.value[1].length
    }
    // A copy of its own: the token is often a slice of the request's whole Cookie header, which a
    // reference would keep alive.
    this.#failures.set(key, ` ${token}`.slice(1))
    this.#failureChars += token.length
  }
}

/** Freezes a parsed JSON value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

export interface CachedResult {
  /** The whole token, which must match exactly: the cache is keyed by its MAC field only. */
  readonly token: string
  readonly json: string
  readonly keyId: string
  readonly expiresAt: number
  /** The result every hit answers with, made on the first hit: parsed once, deep-frozen, shared. */
  shared?: UnsealResult
  /** The cache's use count when this entry was last put at the young end. */
  placed: number
}
