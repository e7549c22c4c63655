import { generateKey } from 'iron-webcrypto'
import { decodeBase64Url, encodeBase64Url } from './base64url.js'

/**
 * What iron needs, over two implementations with identical output: Web Crypto (every runtime) and
 * `node:crypto` (Node, where each `crypto.subtle` call costs tens of microseconds of promise and
 * thread-pool overhead against a few for the synchronous equivalent). Iron's keys are PBKDF2-SHA1
 * with 1 iteration over the UTF-8 secret and the salt's hex text, 256 bits: both derive exactly that.
 *
 * The node backend returns every result directly and the web one returns promises, so a caller
 * that handles both (sealer.ts) runs one code path and only waits where there is a promise.
 */
interface Operations<K, Result extends 'value' | 'promise'> {
  readonly name: 'web' | 'node'
  /** True when every operation below returns its result, never a promise. */
  readonly sync: Result extends 'value' ? true : false
  derive(secret: string, purpose: 'encryption' | 'integrity', salt: string): Out<K, Result>
  /** AES-256-CBC of the UTF-8 bytes of `text`. */
  encrypt(key: K, iv: Uint8Array, text: string): Out<Uint8Array, Result>
  /** Rejects (or throws) on bad padding, as both platforms do. */
  decrypt(key: K, iv: Uint8Array, data: Uint8Array): Out<Uint8Array, Result>
  sign(key: K, data: string): Out<Uint8Array, Result>
  /** Constant-time comparison of `mac` with the MAC of `data`. */
  verify(key: K, mac: Uint8Array, data: string): Out<boolean, Result>
  /** `n` (at most {@link kRandomPoolSize}) fresh bytes from the platform CSPRNG, pooled; never shared. */
  randomBytes(n: number): Uint8Array
  /** Unpadded base64url. */
  encodeBase64Url(bytes: Uint8Array): string
  /** Strict: `undefined` unless `text` is the canonical unpadded base64url of the result (see base64url.ts). */
  decodeBase64Url(text: string): Uint8Array | undefined
}
type Out<T, Result extends 'value' | 'promise'> = Result extends 'value' ? T : Promise<T>

export type SyncCryptoBackend<K = unknown> = Operations<K, 'value'>
export type AsyncCryptoBackend<K = unknown> = Operations<K, 'promise'>
export type CryptoBackend<K = unknown> = SyncCryptoBackend<K> | AsyncCryptoBackend<K>

/**
 * Bytes drawn from the CSPRNG per call of the platform's random source. One call costs a few
 * microseconds whatever the size (a crossing into native code and, on Node, argument checks), so
 * a seal's 16-byte IV or an 18-byte session id paid that each time; 4 KiB serves about 250 of them.
 */
export const kRandomPoolSize = 4096

/**
 * Hands out bytes of a buffer filled by `fill`, each byte once, refilling when the rest is too
 * short. Nothing is drawn at construction: Cloudflare Workers refuse random values at module scope.
 * Callers get copies, so a later refill never changes bytes already handed out.
 */
export class RandomPool {
  readonly #fill: (target: Uint8Array) => unknown
  readonly #size: number
  #pool: Uint8Array | undefined
  #offset = 0

  constructor(fill: (target: Uint8Array) => unknown, size = kRandomPoolSize) {
    this.#fill = fill
    this.#size = size
  }

  take(n: number): Uint8Array {
    if (!(Number.isSafeInteger(n) && n >= 0 && n <= this.#size)) {
      throw new RangeError(`cannot draw ${n} bytes from a pool of ${this.#size}`)
    }
    let pool = this.#pool
    if (pool === undefined || this.#offset + n > pool.length) {
      pool ??= this.#pool = new Uint8Array(this.#size)
      // Marked used before filling: a fill that throws leaves nothing that could be handed out twice.
      this.#offset = pool.length
      this.#fill(pool)
      this.#offset = 0
    }
    const start = this.#offset
    this.#offset = start + n
    return pool.slice(start, start + n)
  }
}

const kEncoder = new TextEncoder()
const kEncryption = { algorithm: 'aes-256-cbc', iterations: 1, minPasswordlength: 32 } as const
const kIntegrity = { algorithm: 'sha256', iterations: 1, minPasswordlength: 32 } as const

// `crypto.getRandomValues` is looked up on each fill, not captured, so a runtime (or a test) that
// replaces it is honoured.
const webRandom = new RandomPool((target) => crypto.getRandomValues(target))

export const webBackend: AsyncCryptoBackend<CryptoKey> = {
  name: 'web',
  sync: false,
  async derive(secret, purpose, salt) {
    const derived =
      purpose === 'encryption'
        ? await generateKey(secret, { ...kEncryption, salt })
        : await generateKey(secret, { ...kIntegrity, salt })
    return derived.key
  },
  async encrypt(key, iv, text) {
    return new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-CBC', iv: iv as BufferSource },
        key,
        kEncoder.encode(text) as BufferSource,
      ),
    )
  },
  async decrypt(key, iv, data) {
    return new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-CBC', iv: iv as BufferSource }, key, data as BufferSource),
    )
  },
  async sign(key, data) {
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, kEncoder.encode(data)))
  },
  verify(key, mac, data) {
    return crypto.subtle.verify('HMAC', key, mac as BufferSource, kEncoder.encode(data))
  },
  randomBytes: (n) => webRandom.take(n),
  encodeBase64Url,
  decodeBase64Url,
}

/** The part of `node:crypto` used here; Bun and Deno provide it too. */
interface NodeCrypto {
  pbkdf2Sync(password: string, salt: string, iterations: number, length: number, digest: string): Uint8Array
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): NodeCipher
  createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): NodeCipher
  createHmac(algorithm: string, key: Uint8Array): { update(data: string): { digest(): Uint8Array } }
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
  randomFillSync(target: Uint8Array): unknown
}
interface NodeCipher {
  update(data: Uint8Array): Uint8Array
  update(data: string, encoding: 'utf8'): Uint8Array
  final(): Uint8Array
}
/** The part of `node:buffer` used here. */
interface NodeBuffer {
  from(text: string, encoding: 'base64url'): Uint8Array & NodeBytes
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBytes
  concat(list: readonly Uint8Array[], totalLength: number): Uint8Array
}
interface NodeBytes {
  toString(encoding: 'base64url'): string
}

function nodeBackendFrom(c: NodeCrypto, buffer: NodeBuffer): SyncCryptoBackend<Uint8Array> {
  const mac = (key: Uint8Array, data: string) => c.createHmac('sha256', key).update(data).digest()
  const concat = (a: Uint8Array, b: Uint8Array) => buffer.concat([a, b], a.length + b.length)
  const encode = (bytes: Uint8Array) =>
    buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
  const random = new RandomPool((target) => c.randomFillSync(target))
  return {
    name: 'node',
    sync: true,
    derive(secret, _purpose, salt) {
      return c.pbkdf2Sync(secret, salt, 1, 32, 'sha1')
    },
    encrypt(key, iv, text) {
      const cipher = c.createCipheriv('aes-256-cbc', key, iv)
      return concat(cipher.update(text, 'utf8'), cipher.final())
    },
    decrypt(key, iv, data) {
      const decipher = c.createDecipheriv('aes-256-cbc', key, iv)
      return concat(decipher.update(data), decipher.final())
    },
    sign: mac,
    verify(key, expected, data) {
      const actual = mac(key, data)
      return actual.length === expected.length && c.timingSafeEqual(actual, expected)
    },
    randomBytes: (n) => random.take(n),
    // Native base64url is an order of magnitude faster than the portable loop in base64url.ts.
    encodeBase64Url: encode,
    decodeBase64Url(text) {
      // Node's decoder is lenient (padding, whitespace, `+` and `/`, stray low bits are all taken),
      // but encoding is a function: text that equals the encoding of what it decoded to is that
      // encoding's one canonical spelling, exactly what the portable strict decoder accepts.
      const bytes = buffer.from(text, 'base64url')
      return bytes.toString('base64url') === text ? bytes : undefined
    },
  }
}

let detected: CryptoBackend | undefined

/**
 * `node:crypto` when the runtime offers it through `process.getBuiltinModule` (Node 20.16+, 22.3+;
 * reached at run time, not imported, so bundles for Workers and browsers stay Web-standard), else
 * Web Crypto.
 */
export function defaultBackend(): CryptoBackend {
  if (detected) return detected
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule
  let nodeCrypto: NodeCrypto | undefined
  let nodeBuffer: NodeBuffer | undefined
  try {
    if (typeof getBuiltin === 'function') {
      nodeCrypto = getBuiltin('node:crypto') as NodeCrypto
      nodeBuffer = (getBuiltin('node:buffer') as { Buffer?: NodeBuffer } | undefined)?.Buffer
    }
  } catch {
    nodeCrypto = undefined
  }
  const complete =
    nodeCrypto !== undefined &&
    [
      'pbkdf2Sync',
      'createCipheriv',
      'createDecipheriv',
      'createHmac',
      'timingSafeEqual',
      'randomFillSync',
    ].every((name) => typeof (nodeCrypto as unknown as Record<string, unknown>)[name] === 'function') &&
    typeof nodeBuffer?.from === 'function' &&
    typeof nodeBuffer.concat === 'function'
  detected = complete
    ? (nodeBackendFrom(nodeCrypto as NodeCrypto, nodeBuffer as NodeBuffer) as CryptoBackend)
    : (webBackend as CryptoBackend)
  return detected
}
