import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { inspectSeal } from '../src/index.js'
import { createSealer } from '../src/internal/sealer.js'

const SECRET = 'inspect-secret-0123456789-abcdefghijklmn'
const AT = Date.UTC(2030, 0, 1)

describe('inspectSeal', () => {
  it('reads the key id and expiry of a seal made under a key map', async () => {
    const sealer = createSealer({ old: SECRET.replace('i', 'o'), k2: SECRET })
    const token = await sealer.seal({ any: 'payload' }, AT)
    expect(inspectSeal(token)).toEqual({ keyId: 'k2', expiresAt: new Date(AT) })
  })

  it('reads an empty key id from a seal under a single secret', async () => {
    const token = await createSealer(SECRET).seal({}, AT + 1234)
    expect(inspectSeal(token)).toEqual({ keyId: '', expiresAt: new Date(AT + 1234) })
  })

  it('agrees with the verified unseal on any expiry and key id', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: AT, max: AT + 10 * 365 * 86_400_000 }),
        fc.stringMatching(/^\w{1,12}$/),
        async (expiresAt, keyId) => {
          const token = await createSealer({ [keyId]: SECRET }).seal({ n: 1 }, expiresAt)
          const opened = await createSealer({ [keyId]: SECRET }).unseal(
            token,
            AT - 3_600_000,
            Number.POSITIVE_INFINITY,
          )
          expect(opened.ok).toBe(true)
          expect(inspectSeal(token)).toEqual({
            keyId: opened.ok ? opened.keyId : 'unopened',
            expiresAt: new Date(opened.ok ? opened.expiresAt : 0),
          })
        },
      ),
      { numRuns: 25 },
    )
  })

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['another format', 'Fe26.1*k*s*iv*enc*1893456000000*s*mac'],
    ['seven fields', 'Fe26.2*k*s*iv*enc*1893456000000*s'],
    ['nine fields', 'Fe26.2*k*s*iv*enc*1893456000000*s*mac*extra'],
    ['no expiry', 'Fe26.2*k*s*iv*enc**s*mac'],
    ['a non-numeric expiry', 'Fe26.2*k*s*iv*enc*soon*s*mac'],
    ['an expiry past any date', 'Fe26.2*k*s*iv*enc*9999999999999999*s*mac'],
    ['a key id with a separator', 'Fe26.2*k-1*s*iv*enc*1893456000000*s*mac'],
    ['an oversized token', `Fe26.2*k*s*iv*${'a'.repeat(70_000)}*1893456000000*s*mac`],
  ])('gives undefined for %s', (_, token) => {
    expect(inspectSeal(token)).toBeUndefined()
  })
})
