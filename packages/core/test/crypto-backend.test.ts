import Iron from '@hapi/iron'
import fc from 'fast-check'
import { defaults as ironDefaults, seal as ironSeal, unseal as ironUnseal } from 'iron-webcrypto'
import { describe, expect, it } from 'vitest'
import { defaultBackend } from '../src/internal/crypto-backend.js'
import { createSealer } from '../src/internal/sealer.js'

const S1 = 'backend-secret-one-0123456789-abcdefghij'
const S2 = 'backend-secret-two-0123456789-abcdefghij'
const HOUR = 3_600_000
const session = { id: 'A'.repeat(24), data: { user: 'ada', cart: [1, 2, 3], note: 'é✓' } }

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
