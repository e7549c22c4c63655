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
    const counted = { ...store, set: (...args: Parameters<typeof store.set>) => (sets++, store.set(...args)) }
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
