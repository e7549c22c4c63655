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

const kPrefix = 'Fe26.2'
const kMinSecretLength = 32
const kSaltBytes = 32
const kIvBytes = 16
const kMacBytes = 32
/** Characters of the unpadded base64url of a {@link kMacBytes} MAC. */
const kMacChars = Math.ceil((kMacBytes * 4) / 3)
const kAesBlock = 16
/**
 * Derived keys remembered for salts met in genuine tokens: two per sealing instance and key id, so
 * this covers a fleet of that many instances (each draws its own salts) and stays small.
 */
const kKeyCacheSize = 256
const kDefaults = Object.freeze({ cacheSize: 1000, maxTokenLength: 8192 })
/**
 * Characters of forged tokens the failure cache may hold in all (besides its entry bound, the
 * unseal cache's size): a megabyte, however long the tokens an attacker sends.
 */
const kFailureChars = 1_000_000

const kKeyIdPattern = /^\w*$/
const kConfiguredKeyIdPattern = /^\w+$/
// Iron's salts are lowercase hex (64 characters with its default 256 salt bits); the upper bound
// keeps the PBKDF2 input that an untrusted token can choose small.
const kSaltPattern = /^[0-9a-f]{1,128}$/
const kExpirationPattern = /^[1-9]\d*$/

const kDecoder = new TextDecoder('utf-8', { fatal: true })

const kMalformed: UnsealResult = Object.freeze({ ok: false, reason: 'malformed' })
const kBadSeal: UnsealResult = Object.freeze({ ok: false, reason: 'bad-seal' })
const kBadExpiry: UnsealResult = Object.freeze({ ok: false, reason: 'bad-expiry' })
const kExpired: UnsealResult = Object.freeze({ ok: false, reason: 'expired' })

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

interface CachedResult {
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

/** Checks secrets (K1) and returns them as key id -> secret, newest last. */
function readSecrets(secrets: SecretInput): Map<string, string> {
  const fail = (message: string): never => {
    throw new SessionError(SessionErrorCode.INVALID_SECRET, message)
  }
  const entries: [string, unknown][] =
    typeof secrets === 'string'
      ? [['', secrets]]
      : typeof secrets === 'object' && secrets !== null && !Array.isArray(secrets)
        ? Object.entries(secrets)
        : fail('`secret` must be a string of at least 32 characters or an object of { keyId: secret }.')
  if (entries.length === 0) fail('`secret` has no keys: give at least one { keyId: secret } entry.')
  const keys = new Map<string, string>()
  const owners = new Map<string, string>()
  for (const [id, secret] of entries) {
    const name = typeof secrets === 'string' ? 'The secret' : `The secret of key id "${id}"`
    // The key id is written into every token and is not secret; the secret never appears here.
    if (typeof secrets !== 'string' && !kConfiguredKeyIdPattern.test(id)) {
      fail(`Key id ${JSON.stringify(id)} is invalid: use letters, digits and "_" only (/^\\w+$/).`)
    }
    if (typeof secret !== 'string') fail(`${name} must be a string.`)
    const value = secret as string
    if (value.length === 0) fail(`${name} is empty: use at least 32 random characters.`)
    if (value.length < kMinSecretLength) {
      fail(`${name} is shorter than 32 characters: use at least 32 random characters.`)
    }
    const owner = owners.get(value)
    if (owner !== undefined) {
      fail(`Key ids "${owner}" and "${id}" have the same secret: give every key id its own secret.`)
    }
    owners.set(value, id)
    keys.set(id, value)
  }
  return keys
}

function readCount(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SessionError(SessionErrorCode.INVALID_OPTION, `\`${name}\` must be an integer >= ${min}.`)
  }
  return value
}

/**
 * The steps of one seal or unseal, written once for both backends: each backend result that is a
 * promise (Web Crypto) is yielded and its value sent back in; a synchronous backend (`node:crypto`)
 * never yields, so the whole operation is one call of `next()`.
 */
type Steps<T> = Generator<Promise<unknown>, T, unknown>

function runSync<T>(steps: Steps<T>): T {
  const step = steps.next()
  if (step.done !== true) throw new Error('a synchronous crypto backend returned a promise')
  return step.value
}

async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let step = steps.next()
  while (step.done !== true) {
    let value: unknown
    try {
      value = await step.value
    } catch (error) {
      step = steps.throw(error)
      continue
    }
    step = steps.next(value)
  }
  return step.value
}

/**
 * The cache key of a token: its last {@link kMacChars} characters, where a well-formed token has its
 * MAC. Hashing a 43-character key instead of the whole token (often 700 characters and more, and a
 * new string on every request) is most of a cache hit's cost; an entry only counts when its full
 * token is equal too.
 */
function resultKey(token: string): string {
  return token.length > kMacChars ? token.slice(-kMacChars) : token
}

/** Map-based LRU: `Map` iterates in insertion order, so re-inserting on use keeps the oldest first. */
function remember<V>(map: Map<string, V>, limit: number, key: string, value: V): void {
  if (limit <= 0) return
  map.delete(key)
  if (map.size >= limit) {
    const oldest = map.keys().next()
    if (oldest.done !== true) map.delete(oldest.value)
  }
  map.set(key, value)
}

class IronSealer implements Sealer {
  readonly currentKeyId: string
  readonly sealSync: ((payload: unknown, expiresAt: number) => string) | undefined
  readonly unsealSync: ((token: string, now: number, maxLifetimeMs: number) => UnsealResult) | undefined
  readonly #secrets: Map<string, string>
  readonly #cacheSize: number
  readonly #maxTokenLength: number
  readonly #results = new Map<string, CachedResult>()
  /**
   * Tokens whose seal proved false, by {@link resultKey} (the whole token must match): a forged token
   * sent again costs no key derivation and no MAC. Unlike a success, a failure may be remembered by
   * the raw string: the same characters fail the same checks under the same secrets, for the life of
   * this sealer, whatever their encoding.
   */
  readonly #failures = new Map<string, string>()
  #failureChars = 0
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
    if (this.#failures.size === 0) return undefined
    return this.#failures.get(resultKey(token)) === token ? kBadSeal : undefined
  }

  /** Remembers that `token`'s seal is false (bounded in entries and characters); returns the failure. */
  #rememberFailure(token: string): UnsealResult {
    const limit = this.#cacheSize
    if (!this.#requireExpiry || limit <= 0 || token.length > kFailureChars) return kBadSeal
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
      this.#salts ??= { encryption: this.#randomSalt(), integrity: this.#randomSalt() }
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

  #randomSalt(): string {
    return uint8ArrayToHex(this.#crypto.randomBytes(kSaltBytes))
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

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** `<= now` is expired; beyond `now + maxLifetimeMs` was never issued by this app. NaN fails closed. */
function checkExpiry(expiresAt: number, now: number, maxLifetimeMs: number): UnsealResult | undefined {
  if (!(expiresAt > now)) return kExpired
  if (!(expiresAt <= now + maxLifetimeMs)) return kBadExpiry
  return undefined
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
