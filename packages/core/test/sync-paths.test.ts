import { describe, expect, it } from 'vitest'
import { createSessionManager, memoryStore, type SessionOptions } from '../src/index.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data
type Loose = any

const SECRET = 'sync-paths-secret-0123456789-abcdefghijk'

function setup(extra: Partial<SessionOptions> = {}) {
  const manager = createSessionManager({ secret: SECRET, clock: createTestClock(), ...extra })
  const cookieOf = (setCookie: string[]) => setCookie.map((h) => h.split(';')[0]).join('; ')
  return { manager, cookieOf }
}

describe('loadSync() and commitSync()', () => {
  it('a request without a cookie loads and commits in the same tick, and load() gives the same session', async () => {
    const { manager } = setup()
    const cycle = manager.begin({ cookieHeader: undefined })
    const session = cycle.loadSync()
    expect(session).toBeDefined()
    expect(await cycle.load()).toBe(session)
    expect(cycle.commitSync()).toEqual({ setCookie: [], headers: [] })
    expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
  })

  it('a cookie-store session opens and is sealed synchronously on node:crypto, byte for byte as commit() would', async () => {
    const { manager, cookieOf } = setup()
    const first = manager.begin({ cookieHeader: undefined })
    ;(first.loadSync() as Loose).user = 'ada'
    const written = first.commitSync()
    expect(written?.setCookie).toHaveLength(1)
    expect(await first.commit()).toBe(written)
    const cookie = cookieOf(written?.setCookie ?? [])
    const second = manager.begin({ cookieHeader: cookie })
    const session: Loose = second.loadSync()
    expect(session?.user).toBe('ada')
    session.n = 1
    const rewritten = second.commitSync()
    const third = manager.begin({ cookieHeader: cookieOf(rewritten?.setCookie ?? []) })
    expect((await third.load()).toJSON()).toEqual({ user: 'ada', n: 1 })
  })

  it('with a server store both answer undefined and the work goes on in load() and commit(), once', async () => {
    const store = memoryStore()
    let sets = 0
    const counted = {
      ...store,
      set: (...args: Parameters<typeof store.set>) => {
        sets++
        return store.set(...args)
      },
    }
    const { manager, cookieOf } = setup({ store: counted })
    const first = manager.begin({ cookieHeader: undefined })
    ;(first.loadSync() as Loose).user = 'ada'
    expect(first.commitSync()).toBeUndefined()
    const written = await first.commit()
    expect(sets).toBe(1)
    const cycle = manager.begin({ cookieHeader: cookieOf(written.setCookie) })
    expect(cycle.loadSync()).toBeUndefined()
    expect(((await cycle.load()) as Loose).user).toBe('ada')
  })

  it('commitSync() throws what commit() rejects with, and commit() then rejects the same', async () => {
    const { manager } = setup({ cookie: { maxChunks: 1 } })
    const cycle = manager.begin({ cookieHeader: undefined })
    ;(cycle.loadSync() as Loose).big = 'x'.repeat(6000)
    expect(() => cycle.commitSync()).toThrow(expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE' }))
    await expect(cycle.commit()).rejects.toEqual(expect.objectContaining({ code: 'ERR_SESSION_TOO_LARGE' }))
  })
})

describe('change detection without serializing', () => {
  it('L2: a nested object reached through a read, toJSON() or a spread is still watched', async () => {
    const { manager, cookieOf } = setup()
    const first = manager.begin({ cookieHeader: undefined })
    Object.assign(first.loadSync() as Loose, { user: 'ada', cart: { items: [] }, tags: ['a'] })
    const cookie = cookieOf(first.commitSync()?.setCookie ?? [])
    const reach: ((s: Loose) => void)[] = [
      (s) => s.cart.items.push(1),
      (s) => s.get('cart').items.push(1),
      (s) => s.toJSON().cart.items.push(1),
      (s) => ({ ...s }).tags.push('b'),
    ]
    for (const mutate of reach) {
      const cycle = manager.begin({ cookieHeader: cookie })
      mutate(cycle.loadSync())
      expect(cycle.commitSync()?.setCookie).toHaveLength(1)
    }
    const untouched = manager.begin({ cookieHeader: cookie })
    const session: Loose = untouched.loadSync()
    expect([session.user, session.has('cart'), 'cart' in session]).toEqual(['ada', true, true])
    expect(untouched.commitSync()).toEqual({ setCookie: [], headers: [] })
  })

  it('an object kept from before save() and changed after it is saved again', async () => {
    const store = memoryStore()
    const { manager, cookieOf } = setup({ store })
    const first = manager.begin({ cookieHeader: undefined })
    ;(first.loadSync() as Loose).cart = { items: [] }
    const cookie = cookieOf((await first.commit()).setCookie)
    const socket: Loose = await manager.upgrade({ headers: { cookie } })
    const cart = socket.cart
    cart.items.push(1)
    await socket.save()
    cart.items.push(2)
    await socket.save()
    expect(((await manager.begin({ cookieHeader: cookie }).load()) as Loose).cart).toEqual({ items: [1, 2] })
  })
})
