import Iron from '@hapi/iron'
import fc from 'fast-check'
import { defaults as ironDefaults, seal as ironSeal, unseal as ironUnseal } from 'iron-webcrypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionError, SessionErrorCode } from '../src/errors.js'
import { decodeBase64Url, encodeBase64Url } from '../src/internal/base64url.js'
import { defaultBackend, kRandomPoolSize, RandomPool, webBackend } from '../src/internal/crypto-backend.js'
import { generateSessionId, isSessionId } from '../src/internal/ids.js'
import { createSealer, type Sealer, type UnsealResult } from '../src/internal/sealer.js'
import { createSessionManager } from '../src/manager.js'

const S1 = 'backend-secret-one-0123456789-abcdefghij'
const S2 = 'backend-secret-two-0123456789-abcdefghij'
const HOUR = 3_600_000
const session = { id: 'A'.repeat(24), data: { user: 'ada', cart: [1, 2, 3], note: 'é✓' } }
const kAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The synchronous pair, which the node:crypto backend always has. */
function sync(sealer: Sealer) {
  const { sealSync, unsealSync } = sealer
  if (sealSync === undefined || unsealSync === undefined) throw new Error('expected sealSync and unsealSync')
  return { sealSync, unsealSync }
}

function codeOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return SessionError.is(error) ? error.code : error
  }
  return undefined
}

describe('node:crypto backend', () => {
  it('is the one chosen on Node (process.getBuiltinModule is there)', () => {
    expect(defaultBackend().name).toBe('node')
  })

  it('K5: its seals unseal with @hapi/iron, iron-webcrypto and the Web Crypto backend, and theirs with it', async () => {
    const now = Date.now()
    const node = createSealer({ k1: S1, k2: S2 })
    const web = createSealer({ k1: S1, k2: S2 }, { backend: 'web' })
    const token = await node.seal(session, now + HOUR)
    expect(await Iron.unseal(token, { k1: S1, k2: S2 }, Iron.defaults)).toEqual(session)
    expect(await ironUnseal(token, { k1: S1, k2: S2 }, ironDefaults)).toEqual(session)
    expect(await web.unseal(token, now, HOUR * 2)).toMatchObject({ ok: true, payload: session, keyId: 'k2' })
    const hapi = await Iron.seal(session, { id: 'k1', secret: S1 }, { ...Iron.defaults, ttl: HOUR })
    const webcrypto = await ironSeal(session, { id: 'k2', secret: S2 }, { ...ironDefaults, ttl: HOUR })
    const fromWeb = await web.seal(session, now + HOUR)
    for (const foreign of [hapi, webcrypto, fromWeb]) {
      expect(await node.unseal(foreign, now, HOUR * 2)).toMatchObject({ ok: true, payload: session })
    }
  })

  it('T1: changing any single character of a token is no session', async () => {
    const now = Date.now()
    const sealer = createSealer(S1, { cacheSize: 0 })
    const token = await sealer.seal(session, now + HOUR)
    for (let i = 0; i < token.length; i++) {
      const swapped = token[i] === 'A' ? 'B' : 'A'
      const bad = token.slice(0, i) + swapped + token.slice(i + 1)
      expect((await sealer.unseal(bad, now, HOUR * 2)).ok, `position ${i}`).toBe(false)
    }
  })

  it('T4: a token sealed under another secret is a bad seal, not an exception', async () => {
    const now = Date.now()
    const token = await createSealer(S2).seal(session, now + HOUR)
    expect(await createSealer(S1).unseal(token, now, HOUR * 2)).toEqual({ ok: false, reason: 'bad-seal' })
  })

  it('round trips any JSON object, in agreement with the Web Crypto backend', async () => {
    const now = Date.now()
    const node = createSealer(S1, { cacheSize: 0 })
    const web = createSealer(S1, { backend: 'web', cacheSize: 0 })
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (value) => {
        const expected = JSON.parse(JSON.stringify(value))
        const a = await node.seal(value, now + HOUR)
        const b = await web.seal(value, now + HOUR)
        expect(await web.unseal(a, now, HOUR * 2)).toMatchObject({ ok: true, payload: expected })
        expect(await node.unseal(b, now, HOUR * 2)).toMatchObject({ ok: true, payload: expected })
      }),
      { numRuns: 200 },
    )
  })
})

describe('node:crypto backend, synchronous API', () => {
  it('K5: sealSync tokens unseal with @hapi/iron, iron-webcrypto and Web Crypto; unsealSync reads theirs', async () => {
    const now = Date.now()
    const node = createSealer({ k1: S1, k2: S2 })
    const { sealSync, unsealSync } = sync(node)
    const web = createSealer({ k1: S1, k2: S2 }, { backend: 'web' })
    const token = sealSync(session, now + HOUR)
    expect(await Iron.unseal(token, { k1: S1, k2: S2 }, Iron.defaults)).toEqual(session)
    expect(await ironUnseal(token, { k1: S1, k2: S2 }, ironDefaults)).toEqual(session)
    expect(await web.unseal(token, now, HOUR * 2)).toMatchObject({ ok: true, payload: session, keyId: 'k2' })
    const hapi = await Iron.seal(session, { id: 'k1', secret: S1 }, { ...Iron.defaults, ttl: HOUR })
    const webcrypto = await ironSeal(session, { id: 'k2', secret: S2 }, { ...ironDefaults, ttl: HOUR })
    const fromWeb = await web.seal(session, now + HOUR)
    for (const foreign of [hapi, webcrypto, fromWeb]) {
      expect(unsealSync(foreign, now, HOUR * 2)).toMatchObject({ ok: true, payload: session })
    }
  })

  it('K5: plain-secret seals agree both ways with @hapi/iron and iron-webcrypto, for any JSON object', async () => {
    const now = Date.now()
    const { sealSync, unsealSync } = sync(createSealer(S1, { cacheSize: 0 }))
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), async (value) => {
        const expected = JSON.parse(JSON.stringify(value))
        // @hapi/iron refuses to parse `__proto__` keys, whoever sealed them.
        fc.pre(!JSON.stringify(value).includes('"__proto__"'))
        const token = sealSync(value, now + HOUR)
        expect(await Iron.unseal(token, S1, Iron.defaults)).toEqual(expected)
        expect(await ironUnseal(token, S1, ironDefaults)).toEqual(expected)
        const hapi = await Iron.seal(value, S1, { ...Iron.defaults, ttl: HOUR })
        expect(unsealSync(hapi, now, HOUR * 2)).toMatchObject({ ok: true, payload: expected })
      }),
      { numRuns: 50 },
    )
  })

  it('sealSync throws the errors seal rejects with, synchronously', async () => {
    const sealer = createSealer(S1, { maxTokenLength: 300 })
    const { sealSync } = sync(sealer)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const cases: Array<[unknown, number, string]> = [
      [10n, Date.now() + HOUR, SessionErrorCode.NOT_SERIALIZABLE],
      [cyclic, Date.now() + HOUR, SessionErrorCode.NOT_SERIALIZABLE],
      [undefined, Date.now() + HOUR, SessionErrorCode.NOT_SERIALIZABLE],
      [session, 1.5, SessionErrorCode.INVALID_OPTION],
      [session, Number.NaN, SessionErrorCode.INVALID_OPTION],
      [{ blob: 'x'.repeat(300) }, Date.now() + HOUR, SessionErrorCode.TOO_LARGE],
    ]
    for (const [payload, expiresAt, code] of cases) {
      expect(codeOf(() => sealSync(payload, expiresAt))).toBe(code)
      const rejected = await sealer.seal(payload, expiresAt).then(
        () => undefined,
        (error: unknown) => (SessionError.is(error) ? error.code : error),
      )
      expect(rejected).toBe(code)
    }
  })

  it('T1, T2, T3, X4: unsealSync gives exactly what unseal gives, for valid, tampered and foreign input', async () => {
    const now = Date.now()
    // Two sealers with the same secret: one answers synchronously, the other through the promise API.
    const a = createSealer({ k1: S1, k2: S2 })
    const b = createSealer({ k1: S1, k2: S2 })
    const token = sync(a).sealSync(session, now + HOUR)
    const short = sync(a).sealSync(session, now + 10)
    const parts = token.split('*')
    const inputs = fc.oneof(
      fc.constantFrom(token, short, `${token}=`, token.replace('k2', 'k3'), token.replace('k2', 'k1')),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...kAlphabet, '*', '=', ' '))
        .map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
      fc
        .tuple(fc.nat({ max: 7 }), fc.string({ maxLength: 70 }))
        .map(([i, value]) => parts.map((part, j) => (i === j ? value : part)).join('*')),
    )
    await fc.assert(
      fc.asyncProperty(inputs, fc.constantFrom(now, now + 20, now + HOUR), async (value, at) => {
        const syncResult: UnsealResult = sync(a).unsealSync(value, at, HOUR * 2)
        expect(syncResult).toEqual(await b.unseal(value, at, HOUR * 2))
        // A second time: now from the cache where the first one verified.
        expect(sync(a).unsealSync(value, at, HOUR * 2)).toEqual(syncResult)
        if (value !== token && value !== short) expect(syncResult.ok).toBe(false)
      }),
      { numRuns: 400 },
    )
  })

  it('T3: unsealSync never throws on non-strings and arbitrary input', () => {
    const { unsealSync } = sync(createSealer(S1))
    for (const value of [undefined, null, 42, {}, ['Fe26.2'], '', '*'.repeat(7), 'x'.repeat(100_000)]) {
      expect(unsealSync(value as unknown as string, Date.now(), HOUR)).toEqual({
        ok: false,
        reason: 'malformed',
      })
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (value) => {
        expect(unsealSync(value, Date.now(), HOUR).ok).toBe(false)
      }),
      { numRuns: 300 },
    )
  })

  it('DESIGN §5: unsealSync serves a cached token without crypto; unsealCached agrees', () => {
    const now = Date.now()
    const sealer = createSealer(S1)
    const { sealSync, unsealSync } = sync(sealer)
    const token = sealSync(session, now + HOUR)
    expect(sealer.unsealCached(token, now, HOUR)).toBeUndefined()
    const first = unsealSync(token, now, HOUR)
    expect(first).toMatchObject({ ok: true, payload: session, keyId: '', expiresAt: now + HOUR })
    expect(sealer.unsealCached(token, now, HOUR)).toEqual(first)
    expect(unsealSync(token, now, HOUR)).toEqual(first)
    expect(unsealSync(token, now + HOUR, HOUR)).toEqual({ ok: false, reason: 'expired' })
    expect(sealer.unsealCached(token, now, HOUR)).toBeUndefined()
  })
})

describe('node:crypto backend, base64url', () => {
  const node = defaultBackend()

  it('T2: decodes exactly the strings the portable strict decoder accepts, to the same bytes', () => {
    const chars = [...kAlphabet, '=', '+', '/', ' ', '\n', '.', '*', 'é', '\u0000']
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...chars), maxLength: 48 }), (text) => {
        const portable = decodeBase64Url(text)
        const native = node.decodeBase64Url(text)
        expect(native === undefined).toBe(portable === undefined)
        if (portable !== undefined) expect(new Uint8Array(native!)).toEqual(portable)
      }),
      { numRuns: 3000 },
    )
  })

  it('T2: encodes as the portable encoder does, including views into larger buffers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(8), fc.nat(8), (bytes, before, after) => {
        const wide = new Uint8Array(before + bytes.length + after).fill(0xff)
        wide.set(bytes, before)
        const view = wide.subarray(before, before + bytes.length)
        expect(node.encodeBase64Url(view)).toBe(encodeBase64Url(bytes))
        expect(webBackend.encodeBase64Url(view)).toBe(encodeBase64Url(bytes))
      }),
      { numRuns: 500 },
    )
  })
})

describe('C4: RandomPool', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A pool whose fills are recorded, with a model of which bytes each draw must return. */
  function recorded(size: number) {
    const fills: Uint8Array[] = []
    const pool = new RandomPool((target) => {
      crypto.getRandomValues(target)
      fills.push(target.slice())
    }, size)
    return { pool, fills }
  }

  it('C4: every draw is the next unused bytes of the current fill; a fill happens only when they run out', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.nat(250), { maxLength: 60 }),
        (size, sizes) => {
          const { pool, fills } = recorded(size)
          // The first draw always fills (even of 0 bytes).
          let offset = Number.POSITIVE_INFINITY
          for (const n of sizes.map((n) => n % (size + 1))) {
            const fillsBefore = fills.length
            const drawn = pool.take(n)
            if (offset + n > size) {
              expect(fills.length).toBe(fillsBefore + 1)
              offset = 0
            } else {
              expect(fills.length).toBe(fillsBefore)
            }
            // Offsets only grow within a fill: no byte is handed out twice.
            expect(drawn).toEqual(fills.at(-1)!.subarray(offset, offset + n))
            offset += n
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('C4: draws are copies, so a refill never changes bytes already handed out', () => {
    const { pool } = recorded(32)
    const first = pool.take(32)
    const kept = first.slice()
    pool.take(16)
    expect(first).toEqual(kept)
    expect(first.buffer.byteLength).toBe(32)
  })

  it('C4: nothing is drawn at construction; a failed fill hands out nothing and is retried', () => {
    let calls = 0
    const pool = new RandomPool((target) => {
      calls++
      if (calls === 1) throw new Error('no entropy yet')
      crypto.getRandomValues(target)
    }, 64)
    expect(calls).toBe(0)
    expect(() => pool.take(16)).toThrow('no entropy yet')
    expect(pool.take(16)).toHaveLength(16)
    expect(calls).toBe(2)
  })

  it('C4: refuses draws larger than the pool, negative or fractional', () => {
    const pool = new RandomPool((target) => crypto.getRandomValues(target), 64)
    for (const n of [65, -1, 1.5, Number.NaN]) expect(() => pool.take(n)).toThrow(RangeError)
    expect(pool.take(64)).toHaveLength(64)
    expect(pool.take(0)).toHaveLength(0)
  })

  it("C4: a session id is 18 bytes (144 bits) drawn from the default backend's pool", () => {
    const draw = vi.spyOn(defaultBackend(), 'randomBytes')
    const id = generateSessionId()
    expect(draw).toHaveBeenCalledExactlyOnceWith(18)
    expect(isSessionId(id)).toBe(true)
    expect(new Uint8Array(Buffer.from(id, 'base64url'))).toEqual(draw.mock.results[0]?.value)
  })

  it('C4: session ids are the bytes the platform CSPRNG gives, and Math.random is never asked', async () => {
    const nodeCrypto = process.getBuiltinModule('node:crypto')
    const backend = defaultBackend()
    const math = vi.spyOn(Math, 'random')
    // Whatever the CSPRNG gives, the id follows: here a pattern no other source would produce.
    const fill = vi.spyOn(nodeCrypto, 'randomFillSync').mockImplementation(((target: Uint8Array) => {
      for (let i = 0; i < target.length; i++) target[i] = (i * 7 + 3) & 0xff
      return target
    }) as typeof nodeCrypto.randomFillSync)
    try {
      // Use up the pool, so that the next id needs a fill.
      backend.randomBytes(kRandomPoolSize)
      const id = generateSessionId()
      expect(fill).toHaveBeenCalled()
      expect([...Buffer.from(id, 'base64url')]).toEqual(
        Array.from({ length: 18 }, (_, i) => (i * 7 + 3) & 0xff),
      )
      fill.mockRestore()
      // Ids made by the engine, for new sessions and on regenerate(), never touch Math.random.
      const manager = createSessionManager<{ n: number }>({ secret: S1 })
      for (let i = 0; i < 200; i++) {
        const cycle = manager.begin({ cookieHeader: undefined })
        const session = await cycle.load()
        session.set('n', i)
        await session.regenerate()
        await cycle.commit()
        expect(isSessionId(session.id)).toBe(true)
      }
      expect(math).not.toHaveBeenCalled()
    } finally {
      vi.restoreAllMocks()
      // Leave no patterned bytes behind for later draws.
      backend.randomBytes(kRandomPoolSize)
    }
  })

  it('C4: the Web Crypto backend hands out the bytes crypto.getRandomValues gives', () => {
    const fill = vi.spyOn(crypto, 'getRandomValues').mockImplementation((target) => {
      const bytes = target as Uint8Array
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 5 + 1) & 0xff
      return target
    })
    try {
      webBackend.randomBytes(kRandomPoolSize)
      expect([...webBackend.randomBytes(18)]).toEqual(
        Array.from({ length: 18 }, (_, i) => (i * 5 + 1) & 0xff),
      )
      expect(fill).toHaveBeenCalled()
    } finally {
      vi.restoreAllMocks()
      webBackend.randomBytes(kRandomPoolSize)
    }
  })

  it('C4: both backends draw from the platform CSPRNG through their pool, and never repeat', () => {
    for (const backend of [defaultBackend(), webBackend]) {
      const seen = new Set<string>()
      for (let i = 0; i < 1000; i++) seen.add(encodeBase64Url(backend.randomBytes(16)))
      expect(seen.size).toBe(1000)
    }
  })
})

describe('T1: MACs are compared in constant time', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** A token whose MAC differs from the genuine one at byte `at` only. */
  async function tamperedAt(sealer: Sealer, at: number): Promise<string> {
    const token = await sealer.seal(session, Date.now() + HOUR)
    const parts = token.split('*')
    const mac = decodeBase64Url(parts[7] ?? '') as Uint8Array
    mac[at] = (mac[at] as number) ^ 0x01
    return [...parts.slice(0, 7), encodeBase64Url(mac)].join('*')
  }

  // Not a timing test: an early-exit comparison is caught by what it does, not by how long it takes.
  // Whether the MAC differs in its first byte or its last, the whole of both MACs goes to the
  // platform's constant-time comparison, and its answer alone decides.
  it('T1: node:crypto: timingSafeEqual over both whole MACs decides, wherever they differ', async () => {
    const nodeCrypto = process.getBuiltinModule('node:crypto')
    const compare = vi.spyOn(nodeCrypto, 'timingSafeEqual')
    const sealer = createSealer(S1, { cacheSize: 0 })
    for (const at of [0, 15, 31]) {
      const token = await tamperedAt(sealer, at)
      compare.mockClear()
      expect(await sealer.unseal(token, Date.now(), HOUR * 2), `byte ${at}`).toEqual({
        ok: false,
        reason: 'bad-seal',
      })
      expect(compare, `byte ${at}`).toHaveBeenCalledTimes(1)
      const [a, b] = compare.mock.calls[0] as [Uint8Array, Uint8Array]
      expect([a.length, b.length]).toEqual([32, 32])
      // Its answer, not any comparison of its own: told the MACs match, the sealer takes the token.
      compare.mockReturnValueOnce(true)
      expect((await sealer.unseal(token, Date.now(), HOUR * 2)).ok, `byte ${at}`).toBe(true)
    }
  })

  it('T1: Web Crypto: crypto.subtle.verify over the whole MAC decides, wherever it differs', async () => {
    const verify = vi.spyOn(crypto.subtle, 'verify')
    const sealer = createSealer(S1, { backend: 'web', cacheSize: 0 })
    for (const at of [0, 15, 31]) {
      const token = await tamperedAt(sealer, at)
      verify.mockClear()
      expect(await sealer.unseal(token, Date.now(), HOUR * 2), `byte ${at}`).toEqual({
        ok: false,
        reason: 'bad-seal',
      })
      expect(verify, `byte ${at}`).toHaveBeenCalledTimes(1)
      expect((verify.mock.calls[0] as unknown[])[2]).toHaveLength(32)
      verify.mockResolvedValueOnce(true)
      expect((await sealer.unseal(token, Date.now(), HOUR * 2)).ok, `byte ${at}`).toBe(true)
    }
  })
})
