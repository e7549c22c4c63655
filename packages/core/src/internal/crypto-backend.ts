import { generateKey } from 'iron-webcrypto'

/**
 * The five operations iron needs, over two implementations with identical output: Web Crypto
 * (every runtime) and `node:crypto` (Node, where each `crypto.subtle` call costs tens of
 * microseconds of promise and thread-pool overhead against a few for the synchronous equivalent).
 * Iron's keys are PBKDF2-SHA1 with 1 iteration over the UTF-8 secret and the salt's hex text, 256
 * bits: both derive exactly that.
 */
export interface CryptoBackend<K = unknown> {
  readonly name: 'web' | 'node'
  derive(secret: string, purpose: 'encryption' | 'integrity', salt: string): Promise<K>
  encrypt(key: K, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  decrypt(key: K, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  sign(key: K, data: string): Promise<Uint8Array>
  /** Constant-time comparison of `mac` with the MAC of `data`. */
  verify(key: K, mac: Uint8Array, data: string): Promise<boolean>
}

const kEncoder = new TextEncoder()
const kEncryption = { algorithm: 'aes-256-cbc', iterations: 1, minPasswordlength: 32 } as const
const kIntegrity = { algorithm: 'sha256', iterations: 1, minPasswordlength: 32 } as const

export const webBackend: CryptoBackend<CryptoKey> = {
  name: 'web',
  async derive(secret, purpose, salt) {
    const derived =
      purpose === 'encryption'
        ? await generateKey(secret, { ...kEncryption, salt })
        : await generateKey(secret, { ...kIntegrity, salt })
    return derived.key
  },
  async encrypt(key, iv, data) {
    return new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-CBC', iv: iv as BufferSource }, key, data as BufferSource),
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
}

/** The part of `node:crypto` used here; Bun and Deno provide it too. */
interface NodeCrypto {
  pbkdf2Sync(password: string, salt: string, iterations: number, length: number, digest: string): Uint8Array
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): NodeCipher
  createDecipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): NodeCipher
  createHmac(algorithm: string, key: Uint8Array): { update(data: string): { digest(): Uint8Array } }
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
}
interface NodeCipher {
  update(data: Uint8Array): Uint8Array
  final(): Uint8Array
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function nodeBackendFrom(c: NodeCrypto): CryptoBackend<Uint8Array> {
  const mac = (key: Uint8Array, data: string) => c.createHmac('sha256', key).update(data).digest()
  return {
    name: 'node',
    async derive(secret, _purpose, salt) {
      return c.pbkdf2Sync(secret, salt, 1, 32, 'sha1')
    },
    async encrypt(key, iv, data) {
      const cipher = c.createCipheriv('aes-256-cbc', key, iv)
      return concat(cipher.update(data), cipher.final())
    },
    async decrypt(key, iv, data) {
      const decipher = c.createDecipheriv('aes-256-cbc', key, iv)
      return concat(decipher.update(data), decipher.final())
    },
    async sign(key, data) {
      return mac(key, data)
    },
    async verify(key, expected, data) {
      const actual = mac(key, data)
      return actual.length === expected.length && c.timingSafeEqual(actual, expected)
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
  try {
    nodeCrypto = typeof getBuiltin === 'function' ? (getBuiltin('node:crypto') as NodeCrypto) : undefined
  } catch {
    nodeCrypto = undefined
  }
  const complete =
    nodeCrypto !== undefined &&
    ['pbkdf2Sync', 'createCipheriv', 'createDecipheriv', 'createHmac', 'timingSafeEqual'].every(
      (name) => typeof (nodeCrypto as unknown as Record<string, unknown>)[name] === 'function',
    )
  detected = complete
    ? (nodeBackendFrom(nodeCrypto as NodeCrypto) as CryptoBackend)
    : (webBackend as CryptoBackend)
  return detected
}
