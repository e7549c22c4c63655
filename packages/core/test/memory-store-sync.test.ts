import { describe, expect, it } from 'vitest'
import { createSessionManager, memoryStore, type PeekableStore, type SessionStore } from '../src/index.js'
import { generateSessionId } from '../src/internal/ids.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data
type Loose = any

const SECRET = 'memory-sync-secret-0123456789-abcdefghij'

/** A memory store whose calls are counted, and a manager over it with a test clock. */
type Peekable = SessionStore & Partial<PeekableStore>

function setup(wrap: (store: ReturnType<typeof memoryStore>) => Peekable = (store) => store) {
  const clock = createTestClock()
  const inner = memoryStore({ clock })
  const calls = { get: 0, peek: 0 }
  const base = wrap(inner)
  const store: Peekable = {
    ...base,
    get: (id) => {
      calls.get++
      return base.get(id)
    },
    ...(base.peek
      ? {
          peek: (id: string) => {
            calls.peek++
            return base.peek?.(id)
          },
        }
      : {}),
  }
  const manager = createSessionManager({ secret: SECRET, clock, store, idleTimeout: 3600 })
  const cookieOf = (setCookie: string[]) => setCookie.map((h) => h.split(';')[0]).join('; ')
  const login = async (data: object) => {
    const cycle = manager.begin({ cookieHeader: undefined })
    Object.assign(cycle.loadSync() as Loose, data)
    return cookieOf((await cycle.commit()).setCookie)
  }
  return { inner, store, manager, calls, clock, login, cookieOf }
}

describe('memory store: reads in the request tick (peek)', () => {
  it('a live session loads with loadSync() and an unchanged read commits with commitSync(): no get, nothing sent', async () => {
    const { manager, calls, login } = setup()
    const cookie = await login({ user: 'ada', cart: { items: [1] } })
    for (let i = 0; i < 3; i++) {
      const cycle = manager.begin({ cookieHeader: cookie })
      const session: Loose = cycle.loadSync()
      expect(session?.user).toBe('ada')
      expect(session.cart.items).toEqual([1])
      expect(cycle.commitSync()).toEqual({ setCookie: [], headers: [] })
    }
    expect(calls.get).toBe(0)
    expect(calls.peek).toBe(3)
  })

  it("L2 / S5: a change to a shared record is the request's own until it commits, then every reader sees it", async () => {
    const { manager, login, inner } = setup()
    const cookie = await login({ user: 'ada', cart: { items: [1] } })
    const first = manager.begin({ cookieHeader: cookie })
    const mine: Loose = first.loadSync()
    mine.cart.items.push(2)
    // A parallel reader still has the stored session, not the uncommitted change.
    const other: Loose = manager.begin({ cookieHeader: cookie }).loadSync()
    expect(other.cart.items).toEqual([1])
    await first.commit()
    const after: Loose = manager.begin({ cookieHeader: cookie }).loadSync()
    expect(after.cart.items).toEqual([1, 2])
    // The store's own `get` still hands out copies a caller may change.
    const record = await inner.get(after.id)
    ;(record?.data.cart as Loose).items = []
    expect(((manager.begin({ cookieHeader: cookie }).loadSync() as Loose).cart as Loose).items).toEqual([
      1, 2,
    ])
  })

  it('X7: an expired record is not answered in the tick: load() meets it, deletes it, and starts a new session', async () => {
    const { manager, login, clock, inner } = setup()
    const cookie = await login({ user: 'ada' })
    // Idle for the whole window, while the store (its own ttl) still holds the record.
    const id = (manager.begin({ cookieHeader: cookie }).loadSync() as Loose).id
    await inner.touch?.(id, 10 * 3600, clock())
    clock.advance(3600)
    const cycle = manager.begin({ cookieHeader: cookie })
    expect(cycle.loadSync()).toBeUndefined()
    const session: Loose = await cycle.load()
    expect(session.isNew).toBe(true)
    expect(await inner.get(id)).toBeUndefined()
  })

  it('a peek that throws or answers nonsense is left for get(): the session still loads', async () => {
    for (const peek of [
      () => {
        throw new Error('boom')
      },
      () => ({ data: null }),
    ]) {
      const { manager, login, calls } = setup((store) => ({ ...store, peek: peek as never }))
      const cookie = await login({ user: 'ada' })
      const cycle = manager.begin({ cookieHeader: cookie })
      expect(cycle.loadSync()).toBeUndefined()
      expect(((await cycle.load()) as Loose).user).toBe('ada')
      expect(calls.get).toBe(1)
    }
  })
})

describe('memoryStore().peek', () => {
  const record = (n: number) => ({
    data: { n, nested: { a: [1] } },
    createdAt: 1,
    refreshedAt: 1,
    version: 1,
  })

  it('answers the live record, frozen and shared until the next write or touch', async () => {
    const clock = createTestClock()
    const store = memoryStore({ clock })
    const id = generateSessionId()
    expect(store.peek(id)).toBeUndefined()
    await store.set(id, { ...record(1), user: 'ada' }, { ttl: 60 })
    const first = store.peek(id)
    expect(first).toEqual({ ...record(1), user: 'ada' })
    expect(store.peek(id)).toBe(first)
    expect(Object.isFrozen(first)).toBe(true)
    expect(Object.isFrozen((first as Loose).data.nested.a)).toBe(true)
    await store.touch?.(id, 60, 5)
    const touched = store.peek(id)
    expect(touched?.refreshedAt).toBe(5)
    await store.apply?.(id, { set: { n: 2 }, remove: [], refreshedAt: 6 }, { ttl: 60 })
    expect(store.peek(id)?.data.n).toBe(2)
    await store.set(id, record(3), { ttl: 60 })
    expect(store.peek(id)?.data.n).toBe(3)
    clock.advance(61)
    expect(store.peek(id)).toBeUndefined()
  })

  it('S8: answers undefined for an id this library did not issue, without throwing', () => {
    const store = memoryStore()
    for (const id of ['', 'short', 'x'.repeat(24).replace(/./g, '*'), '__proto__'])
      expect(store.peek(id)).toBeUndefined()
  })
})
