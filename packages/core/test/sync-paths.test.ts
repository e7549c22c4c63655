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
    // Without `peek`, as a store that keeps its records elsewhere (memory-store-sync.test.ts has it).
    const counted = {
      ...store,
      peek: undefined,
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

describe('a cookie met again: one cached unseal shared by its requests', () => {
  const original = { user: 'ada', cart: { items: ['a'] }, tags: ['x'] }

  async function seeded() {
    const { manager, cookieOf } = setup()
    const first = manager.begin({ cookieHeader: undefined })
    const session: Loose = first.loadSync()
    Object.assign(session, structuredClone(original))
    session.flash('notice', 'saved')
    const cookie = cookieOf(first.commitSync()?.setCookie ?? [])
    // Met once, so every request below is answered from the unseal cache.
    await manager.begin({ cookieHeader: cookie }).load()
    const open = (header: string) => manager.begin({ cookieHeader: header })
    const dataOf = async (header: string) => ((await open(header).load()) as Loose).toJSON()
    return { open, cookie, cookieOf, dataOf }
  }

  it("L2: every change made to it is this request's own, and the next request reads the cookie as sealed", async () => {
    const { open, cookie, cookieOf, dataOf } = await seeded()
    const changes: [(s: Loose) => unknown, object][] = [
      [(s) => s.cart.items.push('b'), { ...original, cart: { items: ['a', 'b'] } }],
      [(s) => s.get('tags').push('y'), { ...original, tags: ['x', 'y'] }],
      [(s) => s.toJSON().cart.items.pop(), { ...original, cart: { items: [] } }],
      [(s) => ({ ...s }).tags.splice(0), { ...original, tags: [] }],
      [
        (s) => Object.getOwnPropertyDescriptor(s, 'cart')?.value.items.push('c'),
        { ...original, cart: { items: ['a', 'c'] } },
      ],
      [(s) => (s.user = 'grace'), { ...original, user: 'grace' }],
      [(s) => delete s.tags, { user: 'ada', cart: original.cart }],
      [(s) => s.clear(), {}],
    ]
    for (const [change, expected] of changes) {
      const cycle = open(cookie)
      change(cycle.loadSync())
      const written = cycle.commitSync()?.setCookie ?? []
      expect(written).toHaveLength(1)
      expect(await dataOf(cookieOf(written))).toEqual(expected)
      expect(await dataOf(cookie)).toEqual(original)
    }
  })

  it('L8: two requests with the same cookie at once: a change in one is not seen by the other', async () => {
    const { open, cookie } = await seeded()
    const [a, b] = [open(cookie), open(cookie)]
    const [sa, sb]: Loose[] = [a.loadSync(), b.loadSync()]
    sa.cart.items.push('b')
    sa.user = 'grace'
    expect([sb.user, sb.cart]).toEqual(['ada', { items: ['a'] }])
    expect(b.commitSync()).toEqual({ setCookie: [], headers: [] })
    expect(a.commitSync()?.setCookie).toHaveLength(1)
  })

  it('flash: reading the messages changes this request only; the same cookie still carries them', async () => {
    const { open, cookie, cookieOf, dataOf } = await seeded()
    for (const read of [(s: Loose) => s.flash('notice'), (s: Loose) => s.flash().notice]) {
      const cycle = open(cookie)
      const session: Loose = cycle.loadSync()
      expect(read(session)).toEqual(['saved'])
      expect(session.flash('notice')).toEqual([])
      const written = cycle.commitSync()?.setCookie ?? []
      expect(written).toHaveLength(1)
      const next: Loose = await open(cookieOf(written)).load()
      expect(next.flash()).toEqual({})
    }
    const adding = open(cookie)
    ;(adding.loadSync() as Loose).flash('notice', 'again')
    const written = adding.commitSync()?.setCookie ?? []
    expect(((await open(cookieOf(written)).load()) as Loose).flash('notice')).toEqual(['saved', 'again'])
    expect(((await open(cookie).load()) as Loose).flash('notice')).toEqual(['saved'])
    expect(await dataOf(cookie)).toEqual(original)
  })

  it('E3: reading it, strings and objects alike, sends nothing', async () => {
    const { open, cookie } = await seeded()
    const cycle = open(cookie)
    const session: Loose = cycle.loadSync()
    expect([session.user, session.cart.items[0], Object.keys(session)]).toEqual([
      'ada',
      'a',
      ['user', 'cart', 'tags'],
    ])
    expect(cycle.commitSync()).toEqual({ setCookie: [], headers: [] })
  })
})

describe('the copy a change makes of shared data', () => {
  it('T7, L1: it keeps every value, nested "__proto__" keys as data, and pollutes nothing', async () => {
    const { manager, cookieOf } = setup()
    const nested = JSON.parse(
      '{"__proto__": {"polluted": true}, "list": [1, {"deep": [null, "x"]}], "n": -1.5}',
    )
    const first = manager.begin({ cookieHeader: undefined })
    Object.assign(first.loadSync() as Loose, { nested, flag: true, text: 'é' })
    const cookie = cookieOf(first.commitSync()?.setCookie ?? [])
    // Met once, so the next request shares the cached, frozen parse and copies it on change.
    await manager.begin({ cookieHeader: cookie }).load()
    const second = manager.begin({ cookieHeader: cookie })
    const session: Loose = second.loadSync()
    session.more = 1
    const copied = session.nested
    expect(Object.isFrozen(copied)).toBe(false)
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype)
    expect(Object.hasOwn(copied, '__proto__')).toBe(true)
    expect(({} as Loose).polluted).toBeUndefined()
    copied.list[1].deep.push('y')
    const third = manager.begin({ cookieHeader: cookieOf(second.commitSync()?.setCookie ?? []) })
    const data = (third.loadSync() as Loose).toJSON()
    expect(JSON.stringify(data)).toBe(
      JSON.stringify({
        nested: { ...nested, list: [1, { deep: [null, 'x', 'y'] }] },
        flag: true,
        text: 'é',
        more: 1,
      }),
    )
    expect(Object.hasOwn(data.nested, '__proto__')).toBe(true)
  })
})

describe('onChange(): the first moment a commit may have something to do', () => {
  const written = async (extra: Partial<SessionOptions> = {}) => {
    const clock = createTestClock()
    const { manager, cookieOf } = setup({ clock, idleTimeout: 3600, ...extra })
    const first = manager.begin({ cookieHeader: undefined })
    ;(first.loadSync() as Loose).user = 'ada'
    return { manager, clock, cookie: cookieOf(first.commitSync()?.setCookie ?? []) }
  }

  it('E3: reading strings and numbers does not call it, and the commit sends nothing', async () => {
    const { manager, cookie } = await written()
    const cycle = manager.begin({ cookieHeader: cookie })
    const calls: string[] = []
    cycle.onChange(() => calls.push('changed'))
    const session: Loose = cycle.loadSync()
    expect(session.user).toBe('ada')
    expect(session.has('user')).toBe(true)
    expect(calls).toEqual([])
    expect(cycle.commitSync()).toEqual({ setCookie: [], headers: [] })
  })

  it('E4: the first write calls it once, before the change is made', async () => {
    const { manager, cookie } = await written()
    const cycle = manager.begin({ cookieHeader: cookie })
    const session: Loose = cycle.loadSync()
    const seen: unknown[] = []
    cycle.onChange(() => seen.push(session.n))
    session.n = 1
    session.n = 2
    expect(seen).toEqual([undefined])
    expect(cycle.commitSync()?.setCookie).toHaveLength(1)
  })

  it('L2, L4: a handed-out object, touch(), destroy() each call it', async () => {
    const { manager, cookie } = await written()
    for (const act of [(s: Loose) => s.toJSON(), (s: Loose) => s.touch(), (s: Loose) => void s.destroy()]) {
      const cycle = manager.begin({ cookieHeader: cookie })
      let calls = 0
      cycle.onChange(() => calls++)
      act(cycle.loadSync())
      expect(calls).toBe(1)
    }
  })

  it('X5: a refresh due when the request was read calls it at once, even registered before the load', async () => {
    const { manager, clock, cookie } = await written({ rolling: 60 })
    clock.advance(61)
    const cycle = manager.begin({ cookieHeader: cookie })
    let calls = 0
    cycle.onChange(() => calls++)
    expect(calls).toBe(0)
    cycle.loadSync()
    expect(calls).toBe(1)
    expect(cycle.commitSync()?.setCookie).toHaveLength(1)
  })

  it('X5: a refresh that comes due while the request runs waits for the next request', async () => {
    const { manager, clock, cookie } = await written({ rolling: 60 })
    clock.advance(59)
    const cycle = manager.begin({ cookieHeader: cookie })
    let calls = 0
    cycle.loadSync()
    cycle.onChange(() => calls++)
    clock.advance(2)
    expect(calls).toBe(0)
    expect(cycle.commitSync()).toEqual({ setCookie: [], headers: [] })
    const next = manager.begin({ cookieHeader: cookie })
    next.loadSync()
    expect(next.commitSync()?.setCookie).toHaveLength(1)
  })
})
