import * as HapiIron from '@hapi/iron'
import fc from 'fast-check'
import * as IronWebcrypto from 'iron-webcrypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionError, SessionErrorCode } from '../src/errors.js'
import { decodeBase64Url, encodeBase64Url } from '../src/internal/base64url.js'
import { defaultBackend } from '../src/internal/crypto-backend.js'
import {
  createSealer as createAnySealer,
  type Sealer,
  type SealerOptions,
  unsealAllowingNoExpiry,
} from '../src/internal/sealer.js'

// These tests watch `crypto.subtle` to prove when crypto runs, so they pin the Web Crypto backend
// (the one Bun, Deno and Workers use); crypto-backend.test.ts proves the node:crypto one.
const createSealer = (secrets: Parameters<typeof createAnySealer>[0], options?: SealerOptions) =>
  createAnySealer(secrets, { backend: 'web', ...options })

const S1 = 'first-secret-0123456789-abcdefghijklmnop'
const S2 = 'second-secret-0123456789-abcdefghijklmno'
const S3 = 'third-secret-0123456789-abcdefghijklmnop'
const HOUR = 3_600_000
const kAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const kSubtleMethods = [
  'encrypt',
  'decrypt',
  'sign',
  'verify',
  'importKey',
  'deriveKey',
  'deriveBits',
] as const

/** A typical session object, about 200 bytes of JSON. */
const session = {
  v: 1,
  id: 'b2d1f0c9a8e7d6c5b4a39281706f5e4d',
  createdAt: 1_893_456_000_000,
  refreshedAt: 1_893_459_600_000,
  data: { userId: 'user_8f3a2c', roles: ['admin', 'editor'], cart: { items: [{ sku: 'A-1', qty: 2 }] } },
}

/** Spies on every `crypto.subtle` method that could do key or cipher work. */
function spySubtle(): () => number {
  const spies = kSubtleMethods.map((name) => vi.spyOn(crypto.subtle, name))
  return () => spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0)
}

function field(token: string, index: number): string {
  return token.split('*')[index]!
}

function withField(token: string, index: number, value: string): string {
  const parts = token.split('*')
  parts[index] = value
  return parts.join('*')
}

/** Flips unused low bits of the last character of an unpadded base64url string. */
function flipLastBits(text: string, bits: number): string {
  const last = kAlphabet.indexOf(text.at(-1)!)
  return text.slice(0, -1) + kAlphabet[last ^ bits]
}

/** Recomputes a valid MAC over the first six fields with the token's own integrity salt. */
async function remac(token: string, secret: string): Promise<string> {
  const parts = token.split('*')
  const base = parts.slice(0, 6).join('*')
  const mac = await IronWebcrypto.hmacWithPassword(
    secret,
    { ...IronWebcrypto.defaults.integrity, salt: parts[6]! },
    base,
  )
  return `${base}*${mac.salt}*${mac.digest}`
}

async function sealed(sealer: Sealer, payload: unknown = session, now = Date.now()): Promise<string> {
  return sealer.seal(payload, now + HOUR)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('K5: iron compatibility', () => {
  // From hapijs/iron test/index.js ("unseals a ticket"): the published vector has no key id and
  // no expiration, so iron treats it as never expiring.
  const vector = {
    password: 'some_not_random_password_that_is_also_long_enough',
    object: { a: 1, b: 2, c: [3, 4, 5], d: { e: 'f' } },
    ticket:
      'Fe26.2**0cdd607945dd1dffb7da0b0bf5f1a7daa6218cbae14cac51dcbd91fb077aeb5b*aOZLCKLhCt0D5IU1qLTtYw*g0ilNDlQ3TsdFUqJCqAm9iL7Wa60H7eYcHL_5oP136TOJREkS3BzheDC1dlxz5oJ**05b8943049af490e913bbc3a2485bee2aaf7b823f4c41d0ff0b7c168371a3772*R8yscVdTBRMdsoVbdDiFmUL8zb-c3PQLGJn4Y8C-AqI',
  }

  it("K5: @hapi/iron's published test vector unseals (iron's own expiry rule)", async () => {
    const result = await unsealAllowingNoExpiry(vector.ticket, vector.password, Date.now())
    expect(result).toEqual({
      ok: true,
      payload: vector.object,
      keyId: '',
      expiresAt: Number.POSITIVE_INFINITY,
    })
    // The same vector through a map with a `default` entry, as iron resolves an empty key id.
    const viaMap = await unsealAllowingNoExpiry(vector.ticket, { default: vector.password }, Date.now())
    expect(viaMap).toMatchObject({ ok: true, payload: vector.object })
  })

  it('K5: the published test vector is verified, not just parsed: one changed MAC bit fails', async () => {
    const tampered = withField(vector.ticket, 7, flipLastBits(field(vector.ticket, 7), 4))
    expect(await unsealAllowingNoExpiry(tampered, vector.password, Date.now())).toEqual({
      ok: false,
      reason: 'bad-seal',
    })
    const other = await unsealAllowingNoExpiry(vector.ticket, S1, Date.now())
    expect(other).toEqual({ ok: false, reason: 'bad-seal' })
  })

  it('K5: the published test vector is still no session for a sealer (X4: it has no expiry)', async () => {
    const sealer = createSealer(vector.password)
    expect(await sealer.unseal(vector.ticket, Date.now(), HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
  })

  it('K5: our seals unseal with @hapi/iron (string secret and key id map)', async () => {
    const plain = await sealed(createSealer(S1))
    expect(await HapiIron.unseal(plain, S1, HapiIron.defaults)).toEqual(session)
    const keyed = await sealed(createSealer({ '1': S1, '2': S2 }))
    expect(field(keyed, 1)).toBe('2')
    expect(await HapiIron.unseal(keyed, { '1': S1, '2': S2 }, HapiIron.defaults)).toEqual(session)
  })

  it('K5: our seals unseal with iron-webcrypto (string secret and key id map)', async () => {
    const plain = await sealed(createSealer(S1))
    expect(await IronWebcrypto.unseal(plain, S1, IronWebcrypto.defaults)).toEqual(session)
    const keyed = await sealed(createSealer({ a: S1, b: S2 }))
    expect(await IronWebcrypto.unseal(keyed, { a: S1, b: S2 }, IronWebcrypto.defaults)).toEqual(session)
  })

  it('K5: @hapi/iron seals with a ttl unseal here (string secret and key id map)', async () => {
    const options = { ...HapiIron.defaults, ttl: HOUR }
    const plain = await HapiIron.seal(session, S1, options)
    expect(await createSealer(S1).unseal(plain, Date.now(), HOUR)).toMatchObject({
      ok: true,
      payload: session,
      keyId: '',
    })
    const keyed = await HapiIron.seal(session, { id: '1', secret: S1 }, options)
    expect(await createSealer({ '1': S1, '2': S2 }).unseal(keyed, Date.now(), HOUR)).toMatchObject({
      ok: true,
      payload: session,
      keyId: '1',
    })
  })

  it('K5: iron-webcrypto seals with a ttl unseal here (string secret and key id map)', async () => {
    const options = { ...IronWebcrypto.defaults, ttl: HOUR }
    const plain = await IronWebcrypto.seal(session, S1, options)
    const result = await createSealer(S1).unseal(plain, Date.now(), HOUR)
    expect(result).toMatchObject({ ok: true, payload: session, keyId: '' })
    expect(result.ok && result.expiresAt).toBe(Number(field(plain, 5)))
    const keyed = await IronWebcrypto.seal(session, { id: 'k2', secret: S2 }, options)
    expect(await createSealer({ k1: S1, k2: S2 }).unseal(keyed, Date.now(), HOUR)).toMatchObject({
      ok: true,
      payload: session,
      keyId: 'k2',
    })
  })

  it('K5: a run of foreign seals, each with fresh salts, all unseal with one sealer', async () => {
    const sealer = createSealer(S1)
    for (let i = 0; i < 5; i++) {
      const token = await IronWebcrypto.seal({ i }, S1, { ...IronWebcrypto.defaults, ttl: HOUR })
      expect(await sealer.unseal(token, Date.now(), HOUR)).toMatchObject({ ok: true, payload: { i } })
    }
  })
})

describe('T1: single-character tampering', () => {
  it('T1: changing any single character at every position gives ok: false', async () => {
    const now = Date.now()
    const sealer = createSealer({ k1: S1 })
    const token = await sealer.seal({ user: 'u1' }, now + HOUR)
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true) // and now cached
    for (let i = 0; i < token.length; i++) {
      const char = token[i]!
      const index = kAlphabet.indexOf(char)
      const substitutes = [index < 0 ? 'A' : kAlphabet[(index + 1) % 64]!, char === '*' ? '.' : '*']
      for (const substitute of substitutes) {
        const tampered = token.slice(0, i) + substitute + token.slice(i + 1)
        const result = await sealer.unseal(tampered, now, HOUR)
        expect(result.ok, `position ${i}: ${char} -> ${substitute}`).toBe(false)
      }
    }
  })

  it('T1: property: any replacement character at any position gives ok: false', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
        async (position, substitute) => {
          fc.pre(substitute !== token[position])
          const tampered = token.slice(0, position) + substitute + token.slice(position + 1)
          expect((await sealer.unseal(tampered, now, HOUR)).ok).toBe(false)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('T2: canonical encodings only', () => {
  it('T2: rejects non-canonical base64url MAC (unused low bits), which iron-webcrypto itself accepts', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const mac = field(token, 7)
    expect(mac).toHaveLength(43) // 32 bytes: the last character carries 2 unused bits
    for (const bits of [1, 2, 3]) {
      const variant = withField(token, 7, flipLastBits(mac, bits))
      expect(variant).not.toBe(token)
      // iron-webcrypto decodes the MAC leniently, so the same seal has four spellings there ...
      expect(await IronWebcrypto.unseal(variant, S1, IronWebcrypto.defaults)).toEqual(session)
      // ... and here only one.
      expect(await sealer.unseal(variant, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    }
  })

  it('T2: rejects `=` padding on the MAC, which iron-webcrypto itself accepts', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const padded = `${token}=`
    expect(await IronWebcrypto.unseal(padded, S1, IronWebcrypto.defaults)).toEqual(session)
    expect(await sealer.unseal(padded, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('T2: rejects non-canonical iv and ciphertext (unused bits, `=` padding) before any crypto', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal({ a: 1 }, now + HOUR)
    const iv = field(token, 3)
    const encrypted = field(token, 4)
    expect(iv).toHaveLength(22) // 16 bytes: 4 unused bits in the last character
    expect(encrypted).toHaveLength(22) // one AES block, likewise
    const variants = [
      ...[1, 2, 4, 8, 15].map((bits) => withField(token, 3, flipLastBits(iv, bits))),
      ...[1, 2, 4, 8, 15].map((bits) => withField(token, 4, flipLastBits(encrypted, bits))),
      withField(token, 3, `${iv}==`),
      withField(token, 4, `${encrypted}==`),
      withField(token, 3, `${iv}=`),
      withField(token, 7, `${field(token, 7)}=`),
    ]
    const crypto = spySubtle()
    for (const variant of variants) {
      expect(await sealer.unseal(variant, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    }
    expect(crypto()).toBe(0)
  })

  it('T2: a cached token does not make its non-canonical spellings valid', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    const variant = withField(token, 7, flipLastBits(field(token, 7), 1))
    expect(await sealer.unseal(variant, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    expect(await sealer.unseal(`${token}=`, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
  })

  it('T2: base64url round trips every byte string, matching the platform encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const text = encodeBase64Url(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(decodeBase64Url(text)).toEqual(bytes)
      }),
      { numRuns: 500 },
    )
  })

  it('T2: base64url decoding accepts a string exactly when it is the canonical encoding of its bytes', () => {
    const chars = [...kAlphabet, '=', '+', '/', ' ', '\n', '.', '*', 'é']
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 12 }), (text) => {
        // Buffer decodes leniently; re-encoding gives the canonical spelling of what it decoded.
        const canonical = Buffer.from(text, 'base64url').toString('base64url') === text
        const decoded = decodeBase64Url(text)
        expect(decoded !== undefined).toBe(canonical)
        if (decoded !== undefined) expect(encodeBase64Url(decoded)).toBe(text)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('T3: bad input', () => {
  it('T3: every truncation is rejected', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    for (let length = 0; length < token.length; length++) {
      expect((await sealer.unseal(token.slice(0, length), now, HOUR)).ok, `length ${length}`).toBe(false)
      expect((await sealer.unseal(token.slice(token.length - length), now, HOUR)).ok).toBe(false)
    }
  })

  it('T3: extended values (one character up to 10 KB) are rejected', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const extended = [
      `${token}A`,
      `${token}AAAA`,
      `${token}*`,
      `${token}*x`,
      `A${token}`,
      `${token};${token}`,
      token + 'A'.repeat(10 * 1024 - token.length),
      `${token}*${'A'.repeat(10 * 1024)}`,
    ]
    for (const value of extended) expect((await sealer.unseal(value, now, HOUR)).ok).toBe(false)
    // Even with a size limit that lets 10 KB through, the extension itself is refused.
    const roomy = createSealer(S1, { maxTokenLength: 64 * 1024 })
    for (const value of extended) expect((await roomy.unseal(value, now, HOUR)).ok).toBe(false)
  })

  it('T3: reordered fields are rejected', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal({ a: 1 }, now + HOUR) // iv and ciphertext have the same length
    const parts = token.split('*')
    const swap = (i: number, j: number) => {
      const copy = [...parts]
      ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
      return copy.join('*')
    }
    const reordered = [
      swap(3, 4), // iv <-> ciphertext: both well-formed, so this reaches the MAC check
      swap(2, 6), // encryption salt <-> integrity salt
      swap(0, 1),
      swap(5, 6),
      [...parts].reverse().join('*'),
      [...parts.slice(1), parts[0]].join('*'),
    ]
    for (const value of reordered) expect((await sealer.unseal(value, now, HOUR)).ok).toBe(false)
    expect(await sealer.unseal(swap(3, 4), now, HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    expect(await sealer.unseal(swap(2, 6), now, HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
  })

  it('T3: empty, whitespace, non-ASCII and %-encoded values are rejected', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const values = [
      '',
      ' ',
      '\t',
      '\n',
      `${token} `,
      ` ${token}`,
      `${token}\n`,
      token.replace('*', ' *'),
      `"${token}"`,
      `${token.slice(0, 40)}é${token.slice(41)}`,
      `${token.slice(0, 40)}\u0000${token.slice(41)}`,
      `${token.slice(0, 40)}😀${token.slice(42)}`,
      `${token}é`,
      token.replaceAll('*', '%2A'),
      token.replace('Fe26.2', '%46e26.2'),
      token.replace(/[A-Z]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
      encodeURIComponent(`${token} `),
      '********',
      '*******',
      'Fe26.2*******',
    ]
    for (const value of values) {
      expect((await sealer.unseal(value, now, HOUR)).ok, JSON.stringify(value)).toBe(false)
    }
  })

  it('T3: non-string input and arbitrary strings never throw and are never accepted', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    for (const value of [undefined, null, 42, {}, ['Fe26.2']]) {
      expect(await sealer.unseal(value as unknown as string, now, HOUR)).toEqual({
        ok: false,
        reason: 'malformed',
      })
    }
    const token = await sealer.seal(session, now + HOUR)
    const parts = token.split('*')
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 400 }),
          fc
            .array(fc.string({ unit: fc.constantFrom(...kAlphabet, '0', 'a', '.'), maxLength: 70 }), {
              minLength: 8,
              maxLength: 8,
            })
            .map((fields) => fields.join('*')),
          fc
            .tuple(fc.nat({ max: 7 }), fc.string({ maxLength: 70 }))
            .map(([i, value]) => parts.map((part, j) => (i === j ? value : part)).join('*')),
        ),
        async (value) => {
          fc.pre(value !== token)
          const result = await sealer.unseal(value, now, HOUR)
          expect(result.ok).toBe(false)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('T5: prefix and size, before any crypto', () => {
  it('T5: prefixes other than exactly Fe26.2 are rejected before any crypto', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const crypto = spySubtle()
    for (const prefix of [
      'Fe26.1',
      'fe26.2',
      'Fe26.2 ',
      ' Fe26.2',
      'Fe26.20',
      'FE26.2',
      'Fe26',
      'Fe27.2',
      '',
    ]) {
      const value = withField(token, 0, prefix)
      expect(await sealer.unseal(value, now, HOUR), prefix).toEqual({ ok: false, reason: 'malformed' })
    }
    expect(crypto()).toBe(0)
  })

  it('T5: a token over maxTokenLength is rejected before any crypto, though it is otherwise valid', async () => {
    const now = Date.now()
    const roomy = createSealer(S1, { maxTokenLength: 64 * 1024 })
    const big = await roomy.seal({ blob: 'x'.repeat(7000) }, now + HOUR)
    expect(big.length).toBeGreaterThan(8192)
    expect((await roomy.unseal(big, now, HOUR)).ok).toBe(true)

    const sealer = createSealer(S1) // default maxTokenLength: 8192
    const small = createSealer(S1, { maxTokenLength: 100 })
    const token = await sealer.seal(session, now + HOUR)
    const crypto = spySubtle()
    expect(await sealer.unseal(big, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    expect(await small.unseal(token, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    expect(await sealer.unseal('x'.repeat(1_000_000), now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    expect(crypto()).toBe(0)
  })

  it('T5: every wrong shape is rejected before any crypto', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal({ a: 1 }, now + HOUR)
    const shapes = [
      withField(token, 1, 'a-b'), // key id not \w*
      withField(token, 2, field(token, 2).toUpperCase()), // salts are lowercase hex
      withField(token, 2, ''),
      withField(token, 2, 'a'.repeat(129)),
      withField(token, 6, `${field(token, 6)}g`),
      withField(token, 3, field(token, 4).slice(0, 20)), // iv of 15 bytes
      withField(token, 3, `${field(token, 3)}AAAA`), // iv of 19 bytes
      withField(token, 4, ''), // no ciphertext
      withField(token, 4, encodeBase64Url(new Uint8Array(17))), // not whole AES blocks
      withField(token, 7, encodeBase64Url(new Uint8Array(31))), // MAC of 31 bytes
      withField(token, 7, encodeBase64Url(new Uint8Array(33))),
      withField(token, 5, 'soon'),
      withField(token, 5, '0'),
      withField(token, 5, `0${field(token, 5)}`),
      withField(token, 5, `${field(token, 5)}.5`),
      withField(token, 5, '-1'),
      token.split('*').slice(0, 7).join('*'),
      `${token}*`,
    ]
    const crypto = spySubtle()
    for (const value of shapes) {
      expect(await sealer.unseal(value, now, HOUR), value.slice(0, 80)).toEqual({
        ok: false,
        reason: 'malformed',
      })
    }
    expect(crypto()).toBe(0)
  })

  it('T5: a seal over maxTokenLength is refused at seal time (it could never be read back)', async () => {
    const sealer = createSealer(S1, { maxTokenLength: 300 })
    const error = await sealer.seal({ blob: 'x'.repeat(300) }, Date.now() + HOUR).catch((e: unknown) => e)
    expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.TOO_LARGE)
    expect(await sealer.seal({ a: 1 }, Date.now() + HOUR)).toMatch(/^Fe26\.2\*/)
  })
})

describe('X4: iron expiry', () => {
  it('X4: a token without an iron expiry is rejected (iron-webcrypto and @hapi/iron, ttl 0)', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const fromWebcrypto = await IronWebcrypto.seal(session, S1, IronWebcrypto.defaults)
    const fromHapi = await HapiIron.seal(session, S1, HapiIron.defaults)
    expect(field(fromWebcrypto, 5)).toBe('')
    const crypto = spySubtle()
    expect(await sealer.unseal(fromWebcrypto, now, HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
    expect(await sealer.unseal(fromHapi, now, HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
    expect(crypto()).toBe(0)
  })

  it('X4: an expiry beyond now + maxLifetimeMs is rejected; exactly now + maxLifetimeMs is accepted', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    const far = await sealer.seal(session, now + 2 * HOUR)
    expect(await sealer.unseal(far, now, HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
    const edge = await sealer.seal(session, now + HOUR)
    expect(await sealer.unseal(edge, now, HOUR)).toMatchObject({ ok: true, expiresAt: now + HOUR })
    const forever = await sealer.seal(session, 9_007_199_254_740_991)
    expect(await sealer.unseal(forever, now, HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
  })

  it('X4: an expired token is rejected (expiry <= now)', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    const token = await sealer.seal(session, now + 1000)
    expect((await sealer.unseal(token, now + 999, HOUR)).ok).toBe(true)
    expect(await sealer.unseal(token, now + 1000, HOUR)).toEqual({ ok: false, reason: 'expired' })
    expect(await sealer.unseal(token, now + HOUR, HOUR)).toEqual({ ok: false, reason: 'expired' })
  })

  it('X4: an expiration that is not a canonical positive integer is rejected even under a valid MAC', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const padded = await remac(withField(token, 5, `0${field(token, 5)}`), S1)
    expect(await HapiIron.unseal(padded, S1, HapiIron.defaults)).toEqual(session) // hapi allows /^\d+$/
    expect(await sealer.unseal(padded, now, HOUR)).toEqual({ ok: false, reason: 'malformed' })
    const none = await remac(withField(token, 5, ''), S1)
    expect(await sealer.unseal(none, now, HOUR)).toEqual({ ok: false, reason: 'bad-expiry' })
  })

  it('X4: a cached token is rejected once expired, and never served past its expiry', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + 1000)
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    const crypto = spySubtle()
    expect((await sealer.unseal(token, now + 500, HOUR)).ok).toBe(true)
    expect(await sealer.unseal(token, now + 1000, HOUR)).toEqual({ ok: false, reason: 'expired' })
    expect(crypto()).toBe(0)
    // Gone from the cache: a clock moved back must verify again, not be served from memory.
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    expect(crypto()).toBeGreaterThan(0)
  })

  it('X4: a cached token is checked against the lifetime bound of every call', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    expect(await sealer.unseal(token, now, HOUR / 2)).toEqual({ ok: false, reason: 'bad-expiry' })
    expect(await sealer.unseal(token, now, Number.NaN)).toEqual({ ok: false, reason: 'bad-expiry' })
    expect(await sealer.unseal(token, Number.NaN, HOUR)).toEqual({ ok: false, reason: 'expired' })
  })
})

describe('K1: secrets are validated at construction', () => {
  const codeOf = (make: () => unknown): unknown => {
    try {
      make()
    } catch (error) {
      expect(SessionError.is(error)).toBe(true)
      return (error as SessionError).code
    }
    return undefined
  }

  it('K1: a secret under 32 characters throws INVALID_SECRET (checked here); 32 is enough', () => {
    const short = 's'.repeat(31)
    expect(codeOf(() => createSealer(short))).toBe(SessionErrorCode.INVALID_SECRET)
    expect(codeOf(() => createSealer({ a: S1, b: short }))).toBe(SessionErrorCode.INVALID_SECRET)
    expect(createSealer('s'.repeat(32)).currentKeyId).toBe('')
  })

  it('K1: empty secrets, an empty map and non-string secrets throw INVALID_SECRET', () => {
    for (const input of ['', {}, { a: '' }, { a: S1, b: '' }, { a: 42 }, null, 42, [S1]]) {
      expect(
        codeOf(() => createSealer(input as never)),
        JSON.stringify(input),
      ).toBe(SessionErrorCode.INVALID_SECRET)
    }
  })

  it('K1: duplicate secrets throw INVALID_SECRET', () => {
    expect(codeOf(() => createSealer({ a: S1, b: S2, c: S1 }))).toBe(SessionErrorCode.INVALID_SECRET)
  })

  it('K1: bad key ids throw INVALID_SECRET', () => {
    for (const id of ['a-b', '', 'a b', 'a*b', 'é', 'a.b']) {
      expect(
        codeOf(() => createSealer({ [id]: S1 })),
        id,
      ).toBe(SessionErrorCode.INVALID_SECRET)
    }
    expect(createSealer({ a_1: S1, B2: S2 }).currentKeyId).toBe('B2')
  })

  it('K1: error messages never contain a secret', () => {
    const short = 'short-secret-value'
    for (const make of [() => createSealer(short), () => createSealer({ a: S1, b: S1 })]) {
      try {
        make()
        expect.unreachable()
      } catch (error) {
        expect((error as Error).message).not.toContain(short)
        expect((error as Error).message).not.toContain(S1)
      }
    }
  })

  it('K1: bad options throw INVALID_OPTION', () => {
    expect(codeOf(() => createSealer(S1, { cacheSize: -1 }))).toBe(SessionErrorCode.INVALID_OPTION)
    expect(codeOf(() => createSealer(S1, { maxTokenLength: 0 }))).toBe(SessionErrorCode.INVALID_OPTION)
    expect(codeOf(() => createSealer(S1, { cacheSize: 1.5 }))).toBe(SessionErrorCode.INVALID_OPTION)
  })
})

describe('K2: rotation', () => {
  it('K2: the newest (last) key id seals', async () => {
    const now = Date.now()
    const byInsertion = createSealer({ old: S1, current: S2 })
    expect(byInsertion.currentKeyId).toBe('current')
    expect(field(await byInsertion.seal(session, now + HOUR), 1)).toBe('current')
    // Integer-like ids iterate numerically in JavaScript: the highest number is the newest.
    const numeric = createSealer({ '10': S1, '9': S2 })
    expect(numeric.currentKeyId).toBe('10')
    expect(field(await numeric.seal(session, now + HOUR), 1)).toBe('10')
    expect(field(await createSealer(S1).seal(session, now + HOUR), 1)).toBe('')
  })

  it('K2: every listed id unseals, and reports which id it was', async () => {
    const now = Date.now()
    const tokens = {
      '1': await createSealer({ '1': S1 }).seal(session, now + HOUR),
      '2': await createSealer({ '1': S1, '2': S2 }).seal(session, now + HOUR),
      '3': await createSealer({ '1': S1, '2': S2, '3': S3 }).seal(session, now + HOUR),
    }
    const sealer = createSealer({ '1': S1, '2': S2, '3': S3 })
    for (const [id, token] of Object.entries(tokens)) {
      expect(await sealer.unseal(token, now, HOUR)).toEqual({
        ok: true,
        payload: session,
        keyId: id,
        expiresAt: now + HOUR,
      })
    }
  })

  it('K2: an id removed from the map gives unknown-key with that id, before any crypto', async () => {
    const now = Date.now()
    const token = await createSealer({ '1': S1, '2': S2 }).seal(session, now + HOUR)
    const crypto = spySubtle()
    expect(await createSealer({ '3': S3 }).unseal(token, now, HOUR)).toEqual({
      ok: false,
      reason: 'unknown-key',
      keyId: '2',
    })
    expect(crypto()).toBe(0)
  })

  it("K2: a key id that exists but under another secret is bad-seal, not the other id's session", async () => {
    const now = Date.now()
    const token = await createSealer({ a: S1 }).seal(session, now + HOUR)
    expect(await createSealer({ a: S2 }).unseal(token, now, HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    const relabelled = withField(token, 1, 'b')
    expect(await createSealer({ a: S1, b: S2 }).unseal(relabelled, now, HOUR)).toEqual({
      ok: false,
      reason: 'bad-seal',
    })
  })

  it("K2: a plain-secret token (key id '') is unknown to a map, unless it has iron's `default` entry", async () => {
    const now = Date.now()
    const token = await createSealer(S1).seal(session, now + HOUR)
    expect(await createSealer({ a: S1 }).unseal(token, now, HOUR)).toEqual({
      ok: false,
      reason: 'unknown-key',
      keyId: '',
    })
    const migrated = createSealer({ default: S1, next: S2 })
    expect(await migrated.unseal(token, now, HOUR)).toMatchObject({ ok: true, payload: session, keyId: '' })
    expect(migrated.currentKeyId).toBe('next')
    // The reverse is not accepted: a keyed token is unknown to a plain secret.
    const keyed = await createSealer({ a: S1 }).seal(session, now + HOUR)
    expect(await createSealer(S1).unseal(keyed, now, HOUR)).toEqual({
      ok: false,
      reason: 'unknown-key',
      keyId: 'a',
    })
  })
})

describe('C4: randomness', () => {
  /** Lengths of the arrays given to `crypto.getRandomValues` by the Web Crypto backend's pool. */
  const poolFills = (random: { mock: { calls: unknown[][] } }) =>
    random.mock.calls.map(([array]) => (array as Uint8Array).length).filter((length) => length !== 16)

  it('C4: salts (64 bits, per sealer) and IVs (128 bits, per seal) come from crypto.getRandomValues, pooled', async () => {
    const now = Date.now()
    const random = vi.spyOn(crypto, 'getRandomValues')
    const sealer = createSealer(S1)
    // Nothing random at construction: Workers forbid it at module scope, where middleware is built.
    expect(random).not.toHaveBeenCalled()
    const first = await sealer.seal(session, now + HOUR) // draws the salts and derives the sealing keys once
    // The pool is shared by every Web Crypto sealer, so it may or may not need a fill here; what it
    // asks the platform for is always whole 4 KiB buffers. (16 bytes: the IV iron's generateKey draws.)
    expect(poolFills(random).every((length) => length === 4096)).toBe(true)
    random.mockClear()
    // 300 seals need 4800 IV bytes: more than one pool, so at least one fill, and at most two.
    const tokens = [first]
    for (let i = 0; i < 300; i++) tokens.push(await sealer.seal(session, now + HOUR))
    const fills = poolFills(random)
    expect(fills.length).toBeGreaterThanOrEqual(1)
    expect(fills.length).toBeLessThanOrEqual(2)
    expect(fills.every((length) => length === 4096)).toBe(true)
    // Never a byte twice: every IV differs, and so does every ciphertext of the same payload.
    expect(new Set(tokens.map((token) => field(token, 3))).size).toBe(tokens.length)
    expect(new Set(tokens.map((token) => field(token, 4))).size).toBe(tokens.length)
    for (const token of tokens) {
      expect(decodeBase64Url(field(token, 3))).toHaveLength(16)
      expect(field(token, 2)).toBe(field(first, 2))
      expect(field(token, 6)).toBe(field(first, 6))
    }
    expect(field(first, 2)).toMatch(/^[0-9a-f]{16}$/)
    expect(field(first, 6)).toMatch(/^[0-9a-f]{16}$/)
    expect(field(first, 2)).not.toBe(field(first, 6))
    const other = await createSealer(S1).seal(session, now + HOUR)
    expect(field(other, 2)).not.toBe(field(first, 2))
    expect(field(other, 6)).not.toBe(field(first, 6))
  })
})

describe('C4: salts', () => {
  it('C4: an integrity salt drawn equal to the encryption salt is drawn again (equal salts, equal keys)', async () => {
    // A fresh module, so that its random pool's first fill is the mocked one below.
    vi.resetModules()
    const fresh = await import('../src/internal/sealer.js')
    const random = vi.spyOn(crypto, 'getRandomValues').mockImplementationOnce(<T>(array: T): T => {
      const bytes = array as unknown as Uint8Array
      for (let i = 0; i < bytes.length; i++) bytes[i] = i < 16 ? i % 8 : (i * 7) & 255
      return array
    })
    try {
      const token = await fresh.createSealer(S1, { backend: 'web' }).seal(session, Date.now() + HOUR)
      expect(field(token, 2)).toBe('0001020304050607')
      expect(field(token, 6)).not.toBe(field(token, 2))
      expect(field(token, 6)).toMatch(/^[0-9a-f]{16}$/)
    } finally {
      random.mockRestore()
    }
  })
})

describe('synchronous API on Web Crypto', () => {
  it('sealSync and unsealSync are absent: Web Crypto has no synchronous operations', () => {
    const sealer = createSealer(S1)
    expect(sealer.sealSync).toBeUndefined()
    expect(sealer.unsealSync).toBeUndefined()
  })

  it('DESIGN §5: unsealCached answers a cached token synchronously, with no crypto, and nothing else', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    expect(sealer.unsealCached(token, now, HOUR)).toBeUndefined()
    const opened = await sealer.unseal(token, now, HOUR)
    const crypto = spySubtle()
    expect(sealer.unsealCached(token, now + 1000, HOUR)).toEqual(opened)
    // A copy of the string (as a new request brings) is the same token.
    expect(sealer.unsealCached(` ${token}`.slice(1), now, HOUR)).toEqual(opened)
    expect(crypto()).toBe(0)
    for (const value of [undefined, null, 42, '', 'x', token.slice(1), `${token}=`] as unknown[]) {
      expect(sealer.unsealCached(value as string, now, HOUR)).toBeUndefined()
    }
  })

  it('T1: a token that ends like a cached one (same MAC field) is not a cache hit', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    await sealer.unseal(token, now, HOUR)
    const index = kAlphabet.indexOf(token[40]!)
    const forged = token.slice(0, 40) + kAlphabet[(index + 1) % 64] + token.slice(41)
    expect(forged.slice(-43)).toBe(token.slice(-43))
    expect(sealer.unsealCached(forged, now, HOUR)).toBeUndefined()
    expect((await sealer.unseal(forged, now, HOUR)).ok).toBe(false)
    // The genuine token is still served from the cache afterwards.
    expect(sealer.unsealCached(token, now, HOUR)).toMatchObject({ ok: true, payload: session })
  })

  it('X4: unsealCached checks expiry and the lifetime bound on every call, and drops expired entries', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + 1000)
    await sealer.unseal(token, now, HOUR)
    expect(sealer.unsealCached(token, now, 500)).toEqual({ ok: false, reason: 'bad-expiry' })
    expect(sealer.unsealCached(token, now + 1000, HOUR)).toEqual({ ok: false, reason: 'expired' })
    expect(sealer.unsealCached(token, now, HOUR)).toBeUndefined()
  })

  it('DESIGN §5: unsealCached hits share one deep-frozen payload that no caller can change', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    await sealer.unseal(token, now, HOUR)
    const first = sealer.unsealCached(token, now, HOUR)
    if (!first?.ok) throw new Error('expected a hit')
    const payload = first.payload as typeof session
    expect(() => {
      payload.data.userId = 'mallory'
    }).toThrow(TypeError)
    expect(() => payload.data.roles.push('root')).toThrow(TypeError)
    const second = sealer.unsealCached(token, now, HOUR)
    expect(second).toMatchObject({ ok: true, payload: session })
    expect(second?.ok && second.payload).toBe(payload)
  })

  it('DESIGN §5: cacheSize 0 means unsealCached never answers', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    const token = await sealer.seal(session, now + HOUR)
    expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    expect(sealer.unsealCached(token, now, HOUR)).toBeUndefined()
  })
})

describe('DESIGN §5: unseal cache and key reuse', () => {
  it('DESIGN §5: a second unseal of the same token makes no crypto.subtle call', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    const crypto = spySubtle()
    const first = await sealer.unseal(token, now, HOUR)
    expect(crypto()).toBeGreaterThan(0)
    const before = crypto()
    const second = await sealer.unseal(token, now + 1000, HOUR)
    expect(crypto()).toBe(before)
    expect(second).toEqual(first)
  })

  it('DESIGN §5: sealing derives keys once; unsealing own tokens derives none', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    await sealer.seal(session, now + HOUR)
    const derive = vi.spyOn(crypto.subtle, 'deriveKey')
    const tokens = [await sealer.seal(session, now + HOUR), await sealer.seal({ other: true }, now + HOUR)]
    for (const token of tokens) expect((await sealer.unseal(token, now, HOUR)).ok).toBe(true)
    expect(derive).not.toHaveBeenCalled()
  })

  it("DESIGN §5: keys for a foreign token's salts are reused, but only once its MAC verified", async () => {
    const sealer = createSealer(S1, { cacheSize: 0 })
    const foreign = await IronWebcrypto.seal(session, S1, { ...IronWebcrypto.defaults, ttl: HOUR })
    // Read after sealing: iron's expiry is its own clock + ttl, which must not pass now + HOUR (X4).
    const now = Date.now()
    const derive = vi.spyOn(crypto.subtle, 'deriveKey')
    expect((await sealer.unseal(foreign, now, HOUR)).ok).toBe(true)
    expect(derive).toHaveBeenCalledTimes(2)
    expect((await sealer.unseal(foreign, now, HOUR)).ok).toBe(true)
    expect(derive).toHaveBeenCalledTimes(2)

    // A forged token with a made-up integrity salt: derived for, rejected, and not remembered.
    const forged = withField(foreign, 6, 'f'.repeat(64))
    derive.mockClear()
    expect(await sealer.unseal(forged, now, HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    expect(await sealer.unseal(forged, now, HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    expect(derive).toHaveBeenCalledTimes(2)
  })

  it('DESIGN §5: mutating a returned payload does not leak into the next result', async () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const token = await sealer.seal(session, now + HOUR)
    // A first unseal (a cache miss) hands out the caller's own payload: changing it is allowed.
    const first = await sealer.unseal(token, now, HOUR)
    if (!first.ok) throw new Error('expected ok')
    const payload = first.payload as typeof session
    payload.data.roles.push('root')
    payload.data.userId = 'mallory'
    expect(Object.isFrozen(payload)).toBe(false)
    // Hits answer from what was verified, not from what that caller changed, and are frozen.
    const second = await sealer.unseal(token, now, HOUR)
    expect(second).toMatchObject({ ok: true, payload: session })
    expect(second.ok && second.payload).not.toBe(first.payload)
    expect(second.ok && Object.isFrozen((second.payload as typeof session).data.roles)).toBe(true)
  })

  it('DESIGN §5: the cache is bounded and least-recently-used entries go first', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 2 })
    const [a, b, c] = await Promise.all([1, 2, 3].map((n) => sealer.seal({ n }, now + HOUR)))
    for (const token of [a!, b!]) await sealer.unseal(token, now, HOUR)
    const crypto = spySubtle()
    await sealer.unseal(a!, now, HOUR) // a is now the most recent; b the oldest
    expect(crypto()).toBe(0)
    await sealer.unseal(c!, now, HOUR) // evicts b
    const afterC = crypto()
    expect(afterC).toBeGreaterThan(0)
    expect(await sealer.unseal(a!, now, HOUR)).toMatchObject({ ok: true, payload: { n: 1 } })
    expect(await sealer.unseal(c!, now, HOUR)).toMatchObject({ ok: true, payload: { n: 3 } })
    expect(crypto()).toBe(afterC)
    expect(await sealer.unseal(b!, now, HOUR)).toMatchObject({ ok: true, payload: { n: 2 } })
    expect(crypto()).toBeGreaterThan(afterC)
  })

  it('DESIGN §5: a token met between every new one stays cached, however many new ones come', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 4 })
    const hot = await sealer.seal({ hot: true }, now + HOUR)
    const others = await Promise.all(Array.from({ length: 40 }, (_, n) => sealer.seal({ n }, now + HOUR)))
    await sealer.unseal(hot, now, HOUR)
    const crypto = spySubtle()
    let opened = 0
    for (const token of others) {
      await sealer.unseal(token, now, HOUR)
      opened = crypto()
      expect(await sealer.unseal(hot, now, HOUR)).toMatchObject({ ok: true, payload: { hot: true } })
      expect(crypto()).toBe(opened)
    }
    // The new ones did go through the cache's bound: the first of them was evicted long ago.
    await sealer.unseal(others[0]!, now, HOUR)
    expect(crypto()).toBeGreaterThan(opened)
  })

  it('DESIGN §5: cacheSize 0 disables the cache', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    const token = await sealer.seal(session, now + HOUR)
    await sealer.unseal(token, now, HOUR)
    const verify = vi.spyOn(crypto.subtle, 'verify')
    await sealer.unseal(token, now, HOUR)
    await sealer.unseal(token, now, HOUR)
    expect(verify).toHaveBeenCalledTimes(2)
  })

  it('DESIGN §5: parallel unseals of fresh and foreign tokens all succeed', async () => {
    const now = Date.now()
    const sealer = createSealer({ a: S1, b: S2 })
    const ours = await Promise.all(Array.from({ length: 20 }, (_, i) => sealer.seal({ i }, now + HOUR)))
    const theirs = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        IronWebcrypto.seal({ i }, { id: 'a', secret: S1 }, { ...IronWebcrypto.defaults, ttl: HOUR }),
      ),
    )
    const results = await Promise.all(
      [...ours, ...theirs, ...ours].map((t) => sealer.unseal(t, Date.now(), HOUR)),
    )
    expect(results.every((result) => result.ok)).toBe(true)
  })
})

describe('DESIGN §2: sealing', () => {
  it('DESIGN §2: round trip of arbitrary JSON values with fresh sealers', async () => {
    const now = Date.now()
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())),
        fc.string({ minLength: 32, maxLength: 64 }),
        fc.option(fc.stringMatching(/^\w{1,12}$/), { nil: undefined }),
        async (value, secret, keyId) => {
          const sealer = createSealer(keyId === undefined ? secret : { [keyId]: secret })
          const token = await sealer.seal(value, now + HOUR)
          const expected = JSON.parse(JSON.stringify(value)) as unknown
          expect(await sealer.unseal(token, now, HOUR)).toEqual({
            ok: true,
            payload: expected,
            keyId: keyId ?? '',
            expiresAt: now + HOUR,
          })
          const password = keyId === undefined ? secret : { [keyId]: secret }
          expect(await IronWebcrypto.unseal(token, password, IronWebcrypto.defaults)).toEqual(expected)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('DESIGN §2: unserializable payloads throw NOT_SERIALIZABLE with the cause', async () => {
    const sealer = createSealer(S1)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const value of [10n, cyclic, undefined, () => 1, Symbol('s')]) {
      const error = await sealer.seal(value, Date.now() + HOUR).catch((e: unknown) => e)
      expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.NOT_SERIALIZABLE)
    }
    const error = await sealer.seal(10n, Date.now() + HOUR).catch((e: unknown) => e)
    expect((error as SessionError).cause).toBeInstanceOf(TypeError)
  })

  it('DESIGN §2: expiresAt must be a positive integer of epoch ms', async () => {
    const sealer = createSealer(S1)
    for (const expiresAt of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const error = await sealer.seal(session, expiresAt).catch((e: unknown) => e)
      expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.INVALID_OPTION)
    }
  })
})

describe('T12: a forged token sent again costs no crypto', () => {
  /** A token of Fe26.2's exact shape that no secret sealed: it fails only at the MAC. */
  const forged = async (salt = 'ab'.repeat(32)) => withField(await sealed(createSealer(S2)), 6, salt)

  it('T12: Web Crypto: the first unseal of a forged token derives and verifies; repeats do neither', async () => {
    const sealer = createSealer(S1)
    const token = await forged()
    const calls = spySubtle()
    expect(await sealer.unseal(token, Date.now(), HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    const first = calls()
    expect(first).toBeGreaterThan(0)
    for (let i = 0; i < 100; i++) {
      expect(await sealer.unseal(token, Date.now(), HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
      // Answered without crypto, and without waiting: the cache alone knows it.
      expect(sealer.unsealCached(token, Date.now(), HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
    }
    expect(calls()).toBe(first)
  })

  it('T12: node:crypto: repeats of a forged token cost no key derivation and no MAC', async () => {
    const backend = defaultBackend()
    const sealer = createAnySealer(S1)
    const token = await forged()
    const derive = vi.spyOn(backend, 'derive')
    const verify = vi.spyOn(backend, 'verify')
    try {
      for (let i = 0; i < 100; i++) {
        expect(sealer.unsealSync?.(token, Date.now(), HOUR)).toEqual({ ok: false, reason: 'bad-seal' })
      }
      expect(derive).toHaveBeenCalledTimes(1)
      expect(verify).toHaveBeenCalledTimes(1)
    } finally {
      vi.restoreAllMocks()
    }
  })

  it('T12: remembered failures are bounded, keyed by the whole token, and never touch a genuine one', async () => {
    const sealer = createSealer(S1, { cacheSize: 4 })
    const genuine = await sealed(sealer)
    // Same MAC field, other content: the whole token must match to count as remembered.
    const lookalike = withField(genuine, 4, field(await sealed(sealer), 4))
    expect((await sealer.unseal(lookalike, Date.now(), HOUR)).ok).toBe(false)
    expect(await sealer.unseal(genuine, Date.now(), HOUR)).toMatchObject({ ok: true })
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => forged(`${i}`.repeat(64))))
    for (const token of tokens) await sealer.unseal(token, Date.now(), HOUR)
    const calls = spySubtle()
    // The four newest are remembered; the oldest was let go and costs crypto again.
    for (const token of tokens.slice(1)) expect(sealer.unsealCached(token, Date.now(), HOUR)?.ok).toBe(false)
    expect(calls()).toBe(0)
    expect(sealer.unsealCached(tokens[0]!, Date.now(), HOUR)).toBeUndefined()
    await sealer.unseal(tokens[0]!, Date.now(), HOUR)
    expect(calls()).toBeGreaterThan(0)
    // With the cache off, nothing is remembered.
    const uncached = createSealer(S1, { cacheSize: 0 })
    await uncached.unseal(tokens[1]!, Date.now(), HOUR)
    expect(uncached.unsealCached(tokens[1]!, Date.now(), HOUR)).toBeUndefined()
  })
})
