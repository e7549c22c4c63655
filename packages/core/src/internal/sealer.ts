/**
 * Fe26.2 (iron) sealing, byte-compatible with `iron-webcrypto` and `@hapi/iron` in both directions,
 * without iron's per-call key derivation.
 *
 * Iron derives both keys with PBKDF2 from a fresh random salt on every seal and from the token's
 * salts on every unseal: that derivation is most of the cost of a seal. Here each sealer draws its
 * two salts once and derives its sealing keys once (the IV stays random per seal, so ciphertexts
 * never repeat), and unsealing remembers the keys derived for salts that proved genuine. The wire
 * format is iron's own, so the salts in a token are what any iron implementation needs to read it.
 *
 * Only Web-standard APIs are imported, so this runs unchanged on Node, Bun, Deno and workerd; where
 * the runtime offers `node:crypto` the same operations go through it (crypto-backend.ts), and then
 * synchronously: `sealSync` and `unsealSync` exist, so a caller can skip the promise hops.
 */
import { uint8ArrayToHex } from 'uint8array-extras'
import { SessionError, SessionErrorCode } from '../errors.js'
import { type CryptoBackend, defaultBackend, webBackend } from './crypto-backend.js'
import {
  checkExpiry,
  kBadExpiry,
  kBadSeal,
  kExpired,
  kMalformed,
  type Sealer,
  type SealerOptions,
  type SecretInput,
  SerializedJson,
  type UnsealResult,
} from './seal-types.js'
import { readCount, readSecrets } from './secrets.js'
import { runAsync, runSync, type Steps } from './steps.js'
import { type CachedResult, deepFreeze, FailureCache, remember, resultKey } from './unseal-cache.js'

export {
  type Sealer,
  type SealerOptions,
  type SecretInput,
  SerializedJson,
  type UnsealFailure,
  type UnsealResult,
} from './seal-types.js'

const kPrefix = 'Fe26.2'
/**
 * 64-bit salts, where iron defaults to 256 bits (its `saltBits`; every iron implementation reads a
 * salt of any length). Iron draws a salt per seal to stretch a possibly weak password; here each
 * sealer draws its two once, and they only keep its keys apart from another instance's and its
 * encryption key apart from its integrity key. The keys' strength is the secret's (32 characters at
 * least, K1), not the salt's, which every token shows in the clear; two instances that drew the same
 * salt would derive the same key from the same secret, which is harmless. 96 fewer characters in
 * every cookie (two salts of 16 hex digits instead of 64).
 */
const kSaltBytes = 8
const kIvBytes = 16
const kMacBytes = 32
const kAesBlock = 16
/**
 * Derived keys remembered for salts met in genuine tokens: two per sealing instance and key id, so
 * this covers a fleet of that many instances (each draws its own salts) and stays small.
 */
const kKeyCacheSize = 256
const kDefaults = Object.freeze({ cacheSize: 1000, maxTokenLength: 8192 })
const kKeyIdPattern = /^\w*$/
// Iron's salts are lowercase hex (64 characters with its default 256 salt bits, 16 with ours); the upper bound
// keeps the PBKDF2 input that an untrusted token can choose small.
const kSaltPattern = /^[0-9a-f]{1,128}$/
const kExpirationPattern = /^[1-9]\d*$/

const kDecoder = new TextDecoder('utf-8', { fatal: true })

type Purpose = 'encryption' | 'integrity'

/** A derived key: a `CryptoKey` or raw bytes, whichever the backend uses. */
type Key = unknown

interface SealKeys {
  readonly encryption: Key
  readonly integrity: Key
}

/** A derived key, and whether it is new (not yet remembered for its salt). */
interface KeyLookup {
  readonly key: Key
  readonly fresh: boolean
}

class IronSealer implements Sealer {
  readonly currentKeyId: string
  readonly sealSync: ((payload: unknown, expiresAt: number) => string) | undefined
  readonly unsealSync: ((token: string, now: number, maxLifetimeMs: number) => UnsealResult) | undefined
  readonly #secrets: Map<string, string>
  readonly #cacheSize: number
  readonly #maxTokenLength: number
  readonly #results = new Map<string, CachedResult>()
  readonly #failures: FailureCache
  /** Hits and inserts so far: the clock of the cache's eviction order. */
  #uses = 0
  readonly #keys = new Map<string, Key>()
  readonly #crypto: CryptoBackend
  readonly #sealSecret: string
  /**
   * Drawn on first seal, not at construction: Cloudflare Workers refuse random values at module
   * scope, where apps build their middleware.
   */
  #salts: { encryption: string; integrity: string } | undefined
  /** `false` only for {@link unsealAllowingNoExpiry}: iron's own rule instead of X4, and no cache. */
  readonly #requireExpiry: boolean
  /** A promise only while an asynchronous backend derives them; concurrent seals share it. */
  #sealKeys: SealKeys | Promise<SealKeys> | undefined

  constructor(secrets: SecretInput, options: SealerOptions = {}, requireExpiry = true) {
    this.#secrets = readSecrets(secrets)
    this.#requireExpiry = requireExpiry
    this.#cacheSize = readCount(options.cacheSize, kDefaults.cacheSize, 'cacheSize', 0)
    this.#failures = new FailureCache(this.#cacheSize)
    this.#maxTokenLength = readCount(options.maxTokenLength, kDefaults.maxTokenLength, 'maxTokenLength', 1)
    this.#crypto = options.backend === 'web' ? (webBackend as CryptoBackend) : defaultBackend()
    const ids = [...this.#secrets.keys()]
    this.currentKeyId = ids[ids.length - 1]!
    this.#sealSecret = this.#secrets.get(this.currentKeyId)!
    if (this.#crypto.sync) {
      this.sealSync = (payload, expiresAt) => runSync(this.#seal(payload, expiresAt))
      this.unsealSync = (token, now, maxLifetimeMs) =>
        this.unsealCached(token, now, maxLifetimeMs) ?? this.#openSync(token, now, maxLifetimeMs)
    }
  }

  seal(payload: unknown, expiresAt: number): Promise<string> {
    const steps = this.#seal(payload, expiresAt)
    if (!this.#crypto.sync) return runAsync(steps)
    try {
      return Promise.resolve(runSync(steps))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  unseal(token: string, now: number, maxLifetimeMs: number): Promise<UnsealResult> {
    const hit = this.unsealCached(token, now, maxLifetimeMs)
    if (hit !== undefined) return Promise.resolve(hit)
    if (this.#crypto.sync) return Promise.resolve(this.#openSync(token, now, maxLifetimeMs))
    // Not reachable with a working `crypto.subtle`; a failure to verify is still no session.
    return runAsync(this.#open(token, now, maxLifetimeMs)).catch(() => kBadSeal)
  }

  unsealCached(token: string, now: number, maxLifetimeMs: number): UnsealResult | undefined {
    if (typeof token !== 'string') return undefined
    if (this.#results.size === 0) return this.#failed(token)
    const key = resultKey(token)
    const hit = this.#results.get(key)
    // Only tokens that passed every check of #open are stored, and each accepted token has exactly
    // one spelling, so equal strings are the same seal. Expiry depends on `now`: checked every time.
    if (hit === undefined || hit.token !== token) return this.#failed(token)
    const failure = checkExpiry(hit.expiresAt, now, maxLifetimeMs)
    if (failure !== undefined) {
      if (failure === kExpired) this.#results.delete(key)
      return failure
    }
    // A hit puts the entry back at the young end only once it has aged into the older half: a token
    // met on every request then costs no Map writes, and eviction stays least-recently-used enough.
    if (++this.#uses - hit.placed > this.#cacheSize >> 1) {
      hit.placed = this.#uses
      this.#results.delete(key)
      this.#results.set(key, hit)
    }
    // One parse per remembered token, not one per request: frozen, so no caller can change what
    // the next one reads. Made on the first hit, so a token met once costs no extra parse.
    hit.shared ??= Object.freeze({
      ok: true,
      payload: deepFreeze(JSON.parse(hit.json)),
      keyId: hit.keyId,
      expiresAt: hit.expiresAt,
    })
    return hit.shared
  }

  /** `bad-seal` when `token` failed its integrity check before and is still remembered. */
  #failed(token: string): UnsealResult | undefined {
    return this.#failures.has(token) ? kBadSeal : undefined
  }

  /** Remembers that `token`'s seal is false (not for {@link unsealAllowingNoExpiry}); returns the failure. */
  #rememberFailure(token: string): UnsealResult {
    if (this.#requireExpiry) this.#failures.add(token)
    return kBadSeal
  }

  #openSync(token: string, now: number, maxLifetimeMs: number): UnsealResult {
    try {
      return runSync(this.#open(token, now, maxLifetimeMs))
    } catch {
      // Not reachable with a working `node:crypto`; a failure to verify is still no session.
      return kBadSeal
    }
  }

  *#seal(payload: unknown, expiresAt: number): Steps<string> {
    let json: string | undefined
    try {
      json = payload instanceof SerializedJson ? payload.json : JSON.stringify(payload)
    } catch (cause) {
      throw new SessionError(
        SessionErrorCode.NOT_SERIALIZABLE,
        'Session data cannot be serialized to JSON.',
        { cause },
      )
    }
    if (json === undefined) {
      throw new SessionError(
        SessionErrorCode.NOT_SERIALIZABLE,
        'Session data cannot be serialized to JSON (JSON.stringify gave undefined).',
      )
    }
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
      throw new SessionError(
        SessionErrorCode.INVALID_OPTION,
        '`expiresAt` must be a positive integer (epoch ms).',
      )
    }
    const backend = this.#crypto
    let keys = this.#getSealKeys()
    if (keys instanceof Promise) keys = (yield keys) as SealKeys
    const salts = this.#salts!
    const iv = backend.randomBytes(kIvBytes)
    let encrypted = backend.encrypt(keys.encryption, iv, json)
    if (encrypted instanceof Promise) encrypted = (yield encrypted) as Uint8Array
    // Exactly iron's layout: the MAC covers these six fields joined by `*`.
    const base = `${kPrefix}*${this.currentKeyId}*${salts.encryption}*${backend.encodeBase64Url(iv)}*${backend.encodeBase64Url(encrypted)}*${expiresAt}`
    let mac = backend.sign(keys.integrity, base)
    if (mac instanceof Promise) mac = (yield mac) as Uint8Array
    const token = `${base}*${salts.integrity}*${backend.encodeBase64Url(mac)}`
    if (token.length > this.#maxTokenLength) {
      throw new SessionError(
        SessionErrorCode.TOO_LARGE,
        `The sealed session is ${token.length} characters, over maxTokenLength (${this.#maxTokenLength}): store less data in it or use a server store.`,
      )
    }
    return token
  }

  *#open(token: string, now: number, maxLifetimeMs: number): Steps<UnsealResult> {
    const requireExpiry = this.#requireExpiry
    if (typeof token !== 'string' || token.length > this.#maxTokenLength) return kMalformed

    // Shape, in full, before any crypto (T2, T3, T5).
    const parts = token.split('*')
    if (parts.length !== 8) return kMalformed
    const [prefix, keyId, encryptionSalt, ivText, encryptedText, expiration, integritySalt, macText] =
      parts as [string, string, string, string, string, string, string, string]
    // Our own salts are valid by construction: comparing is cheaper than matching them again.
    const own = this.#salts
    if (
      prefix !== kPrefix ||
      !kKeyIdPattern.test(keyId) ||
      (encryptionSalt !== own?.encryption && !kSaltPattern.test(encryptionSalt)) ||
      (integritySalt !== own?.integrity && !kSaltPattern.test(integritySalt))
    ) {
      return kMalformed
    }
    const backend = this.#crypto
    const iv = backend.decodeBase64Url(ivText)
    if (iv === undefined || iv.length !== kIvBytes) return kMalformed
    const encrypted = backend.decodeBase64Url(encryptedText)
    if (encrypted === undefined || encrypted.length === 0 || encrypted.length % kAesBlock !== 0)
      return kMalformed
    const mac = backend.decodeBase64Url(macText)
    if (mac === undefined || mac.length !== kMacBytes) return kMalformed

    // Iron treats a missing expiration as "never expires"; a session must always carry one (X4).
    let expiresAt = Number.POSITIVE_INFINITY
    if (expiration !== '' || requireExpiry) {
      if (expiration === '') return kBadExpiry
      if (!kExpirationPattern.test(expiration)) return kMalformed
      expiresAt = Number(expiration)
      const failure = checkExpiry(expiresAt, now, requireExpiry ? maxLifetimeMs : Number.POSITIVE_INFINITY)
      if (failure !== undefined) return failure
    }

    // Iron's convention: a token without a key id is read with the `default` entry of a key map.
    const keyName = keyId === '' && !this.#secrets.has('') ? 'default' : keyId
    const secret = this.#secrets.get(keyName)
    if (secret === undefined) return { ok: false, reason: 'unknown-key', keyId }

    // The MAC covers the first six fields exactly as they appear in the token.
    const macBase = token.slice(0, token.length - integritySalt.length - macText.length - 2)
    let integrity = this.#getKey(keyName, secret, 'integrity', integritySalt)
    if (integrity instanceof Promise) integrity = (yield integrity) as KeyLookup
    let genuine = backend.verify(integrity.key, mac, macBase)
    if (genuine instanceof Promise) genuine = (yield genuine) as boolean
    if (!genuine) return this.#rememberFailure(token)
    // Keys are remembered only for salts that proved genuine, so forged salts cannot churn the cache.
    if (integrity.fresh) this.#rememberKey(keyName, 'integrity', integritySalt, integrity.key)

    let encryption = this.#getKey(keyName, secret, 'encryption', encryptionSalt)
    if (encryption instanceof Promise) encryption = (yield encryption) as KeyLookup
    let json: string
    try {
      let plain = backend.decrypt(encryption.key, iv, encrypted)
      if (plain instanceof Promise) plain = (yield plain) as Uint8Array
      json = kDecoder.decode(plain)
    } catch {
      // Genuine MAC, content that does not decrypt: sealed by a broken sealer, and never otherwise.
      return this.#rememberFailure(token)
    }
    if (encryption.fresh) this.#rememberKey(keyName, 'encryption', encryptionSalt, encryption.key)

    let payload: unknown
    try {
      payload = JSON.parse(json)
    } catch {
      return this.#rememberFailure(token)
    }
    if (requireExpiry) {
      remember(this.#results, this.#cacheSize, resultKey(token), {
        token,
        json,
        keyId,
        expiresAt,
        placed: ++this.#uses,
      })
    }
    return { ok: true, payload, keyId, expiresAt }
  }

  #getSealKeys(): SealKeys | Promise<SealKeys> {
    if (this.#sealKeys === undefined) {
      const secret = this.#sealSecret
      this.#salts ??= this.#drawSalts()
      const salts = this.#salts
      const encryption = this.#crypto.derive(secret, 'encryption', salts.encryption)
      const integrity = this.#crypto.derive(secret, 'integrity', salts.integrity)
      if (encryption instanceof Promise || integrity instanceof Promise) {
        this.#sealKeys = Promise.all([encryption, integrity]).then(
          ([encryption, integrity]) => (this.#sealKeys = { encryption, integrity }),
          (error: unknown) => {
            this.#sealKeys = undefined
            throw error
          },
        )
      } else {
        this.#sealKeys = { encryption, integrity }
      }
    }
    return this.#sealKeys
  }

  /** Two different salts: equal ones would make the encryption key the integrity key. */
  #drawSalts(): { encryption: string; integrity: string } {
    const random = () => uint8ArrayToHex(this.#crypto.randomBytes(kSaltBytes))
    const encryption = random()
    let integrity = random()
    while (integrity === encryption) integrity = random()
    return { encryption, integrity }
  }

  #getKey(keyName: string, secret: string, purpose: Purpose, salt: string): KeyLookup | Promise<KeyLookup> {
    if (keyName === this.currentKeyId && salt === this.#salts?.[purpose]) {
      const keys = this.#getSealKeys()
      return keys instanceof Promise
        ? keys.then((ready) => ({ key: ready[purpose], fresh: false }))
        : { key: keys[purpose], fresh: false }
    }
    const cacheKey = `${purpose}*${keyName}*${salt}`
    const cached = this.#keys.get(cacheKey)
    if (cached !== undefined) {
      this.#keys.delete(cacheKey)
      this.#keys.set(cacheKey, cached)
      return { key: cached, fresh: false }
    }
    const derived = this.#crypto.derive(secret, purpose, salt)
    return derived instanceof Promise
      ? derived.then((key) => ({ key, fresh: true }))
      : { key: derived, fresh: true }
  }

  #rememberKey(keyName: string, purpose: Purpose, salt: string, key: Key): void {
    remember(this.#keys, kKeyCacheSize, `${purpose}*${keyName}*${salt}`, key)
  }
}

/**
 * Creates a sealer. Secrets are validated here (K1): a string of at least 32 characters (key id
 * `''`), or `{ [keyId]: secret }` with key ids `/^\w+$/`, non-empty distinct secrets of at least 32
 * characters. The newest key id is the last in the object's iteration order (integer-like ids come
 * first, in numeric order): it seals, and every id unseals. Throws `INVALID_SECRET` / `INVALID_OPTION`.
 */
export function createSealer(secrets: SecretInput, options?: SealerOptions): Sealer {
  return new IronSealer(secrets, options)
}

/**
 * Unseals under iron's own expiry rule: a token without an expiration never expires, one with an
 * expiration must not have passed, and no lifetime bound applies. Sessions never use this (X4: a
 * session token without an expiry is no session); it exists to read tokens made by other iron users,
 * such as `@hapi/iron`'s published test vector (K5). Nothing is cached. A token without expiry has
 * `expiresAt: Infinity`.
 */
export async function unsealAllowingNoExpiry(
  token: string,
  secrets: SecretInput,
  now: number,
  options?: Pick<SealerOptions, 'maxTokenLength' | 'backend'>,
): Promise<UnsealResult> {
  return new IronSealer(secrets, { ...options, cacheSize: 0 }, false).unseal(
    token,
    now,
    Number.POSITIVE_INFINITY,
  )
}
