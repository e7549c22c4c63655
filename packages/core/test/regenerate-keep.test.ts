import { describe, expect, it } from 'vitest'
import { createSessionManager, memoryStore } from '../src/index.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

const SECRET = 'regenerate-keep-secret-0123456789-abcdefgh'

describe.each([
  ['cookie store', () => undefined],
  ['memory store', () => memoryStore()],
])('regenerate() keeping some keys (%s)', (_name, createStore) => {
  async function regenerated(keep: unknown) {
    const manager = createSessionManager({ secret: SECRET, store: createStore() })
    const first = manager.begin({ cookieHeader: undefined })
    const before = (await first.load()) as Loose
    before.cart = ['apple']
    before.theme = 'dark'
    before.csrf = 'abc'
    const cookie = (await first.commit()).setCookie.map((line) => line.split(';')[0]).join('; ')
    const second = manager.begin({ cookieHeader: cookie })
    const session = (await second.load()) as Loose
    const oldId = session.id
    await session.regenerate(keep)
    const { setCookie } = await second.commit()
    return { session, oldId, setCookie }
  }

  it("L3: an array keeps exactly those keys (@fastify/session's form), with a new id and cookie", async () => {
    const { session, oldId, setCookie } = await regenerated(['cart', 'theme', 'missing'])
    expect(session.id).not.toBe(oldId)
    expect(session.toJSON()).toEqual({ cart: ['apple'], theme: 'dark' })
    expect(setCookie).toHaveLength(1)
  })

  it('L3: `{ keep: [keys] }` does the same; `{ keep: true }` keeps all; no option keeps none', async () => {
    expect((await regenerated({ keep: ['csrf'] })).session.toJSON()).toEqual({ csrf: 'abc' })
    expect((await regenerated({ keep: true })).session.toJSON()).toEqual({
      cart: ['apple'],
      theme: 'dark',
      csrf: 'abc',
    })
    expect((await regenerated(undefined)).session.toJSON()).toEqual({})
    expect((await regenerated([])).session.toJSON()).toEqual({})
  })
})
