import {
  createSessionManager,
  isSessionId,
  SessionError,
  type SessionStore,
  type StoredSession,
} from '@x/session-core'
import { createTestClock, type TestClock } from '@x/session-core/testing'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { instrument } from './stores.js'

export interface StoreFactory {
  /** Shown in test names. */
  name: string
  /**
   * A store for one test. Stores that keep time with the suite's clock (like the memory store)
   * use `clock`; stores that keep time themselves (Redis) set `realTime`.
   */
  create(clock: () => number): SessionStore | Promise<SessionStore>
  /** The store expires records by the real clock: the ttl case waits (about 1.2 s) instead of advancing a clock. */
  realTime?: boolean
  /** The store implements `listByUser` / `deleteByUser` (S6). @default true when the methods exist */
  userIndex?: boolean
  /**
   * A store over the same backend as `create`'s, under key namespace `namespace` (a Redis key
   * prefix, a table, ...), for S8's namespacing case. Stores whose records share a backend with
   * other data give it; a store that keeps its records to itself (the memory store) has none.
   */
  namespaced?(namespace: string, clock: () => number): SessionStore | Promise<SessionStore>
  dispose?(): Promise<void>
}

let counter = 0
/** Ids of the form the library issues (24 base64url characters), unique per run. */
export function testId(): string {
  const random = Math.random().toString(36).slice(2).padEnd(12, '0').slice(0, 12)
  const id = `t${(counter++).toString(36).padStart(5, '0')}${random}`.padEnd(24, 'x').slice(0, 24)
  if (!isSessionId(id)) throw new Error(`testId produced an invalid id: ${id}`)
  return id
}

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version, ...(user === undefined ? {} : { user }) }
}

/** The store conformance suite: every S line of CONFORMANCE.md a store must show on its own. */
export function describeStoreConformance(factory: StoreFactory): void {
  describe(`${factory.name} store conformance`, () => {
    let clock: TestClock
    let store: SessionStore
    beforeEach(async () => {
      clock = createTestClock(Date.now())
      store = await factory.create(clock)
    })
    if (factory.dispose) afterAll(() => factory.dispose?.())

    const elapse = async (seconds: number) => {
      clock.advance(seconds)
      if (factory.realTime) await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    }

    it('S1: get/set/delete round trip; a missing id is undefined', async () => {
      const id = testId()
      expect(await store.get(id)).toBeUndefined()
      expect(await store.set(id, record({ a: 1, nested: { b: [1, 'x'] } }), { ttl: 60 })).toBe('ok')
      const read = await store.get(id)
      expect(read?.data).toEqual({ a: 1, nested: { b: [1, 'x'] } })
      expect(read?.version).toBe(1)
      // What a caller gets back is its own copy.
      ;(read?.data as { a: number }).a = 2
      expect((await store.get(id))?.data).toEqual({ a: 1, nested: { b: [1, 'x'] } })
      await store.delete(id)
      expect(await store.get(id)).toBeUndefined()
      await store.delete(id)
    })

    it('S1: touch extends a record and sets refreshedAt', async () => {
      if (!store.touch) return expect(store.touch).toBeUndefined()
      const id = testId()
      await store.set(id, record({ a: 1 }), { ttl: 1 })
      await store.touch(id, 60, 12345)
      await elapse(1.2)
      const read = await store.get(id)
      expect(read?.data).toEqual({ a: 1 })
      expect(read?.refreshedAt).toBe(12345)
      await store.touch(testId(), 60, 1)
    })

    it('S2: the store forgets a record after its ttl', async () => {
      const id = testId()
      await store.set(id, record({ a: 1 }), { ttl: 1 })
      expect(await store.get(id)).toBeDefined()
      await elapse(1.2)
      expect(await store.get(id)).toBeUndefined()
    })

    it('S3: a stale expectVersion is a conflict and changes nothing', async () => {
      const id = testId()
      expect(await store.set(id, record({ a: 1 }, 1), { ttl: 60, expectVersion: 0 })).toBe('ok')
      expect(await store.set(id, record({ a: 2 }, 1), { ttl: 60, expectVersion: 0 })).toBe('conflict')
      expect(await store.set(id, record({ a: 3 }, 2), { ttl: 60, expectVersion: 1 })).toBe('ok')
      expect(await store.set(id, record({ a: 4 }, 2), { ttl: 60, expectVersion: 1 })).toBe('conflict')
      const read = await store.get(id)
      expect(read?.data).toEqual({ a: 3 })
      expect(read?.version).toBe(2)
      // A record that is gone cannot be updated from a version that existed (L6 relies on it).
      await store.delete(id)
      expect(await store.set(id, record({ a: 5 }, 3), { ttl: 60, expectVersion: 2 })).toBe('conflict')
      expect(await store.get(id)).toBeUndefined()
    })

    it('S3: of parallel saves from one version, exactly one wins', async () => {
      const id = testId()
      await store.set(id, record({ n: 0 }, 1), { ttl: 60 })
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.set(id, record({ n: i + 1 }, 2), { ttl: 60, expectVersion: 1 }),
        ),
      )
      expect(results.filter((r) => r === 'ok')).toHaveLength(1)
      expect((await store.get(id))?.version).toBe(2)
    })

    it('S5: touch never rewrites data', async () => {
      if (!store.touch) return expect(store.touch).toBeUndefined()
      const id = testId()
      await store.set(id, record({ a: 1 }, 1), { ttl: 60 })
      const touching = store.touch(id, 60, 999)
      await store.set(id, record({ a: 2 }, 2), { ttl: 60, expectVersion: 1 })
      await touching
      await store.touch(id, 60, 1000)
      const read = await store.get(id)
      expect(read?.data).toEqual({ a: 2 })
      expect(read?.version).toBe(2)
      // Touching a missing record does not create one.
      const missing = testId()
      await store.touch(missing, 60, 1)
      expect(await store.get(missing)).toBeUndefined()
    })

    const userIndex = factory.userIndex ?? true
    if (userIndex) {
      it('S6: listByUser / deleteByUser see exactly that user’s live sessions', async () => {
        if (!store.listByUser || !store.deleteByUser)
          throw new Error(`${factory.name} has no per-user index; set userIndex: false`)
        const user = `user-${testId()}`
        const other = `user-${testId()}`
        const [a, b, c, d] = [testId(), testId(), testId(), testId()]
        await store.set(a, record({}, 1, user), { ttl: 60 })
        await store.set(b, record({}, 1, user), { ttl: 60 })
        await store.set(c, record({}, 1, other), { ttl: 60 })
        await store.set(d, record({}, 1, user), { ttl: 1 })
        await elapse(1.2)
        expect((await store.listByUser(user)).sort()).toEqual([a, b].sort())
        await store.delete(b)
        expect(await store.listByUser(user)).toEqual([a])
        expect(await store.deleteByUser(user)).toBe(1)
        expect(await store.get(a)).toBeUndefined()
        expect(await store.listByUser(user)).toEqual([])
        expect(await store.listByUser(other)).toEqual([c])
        expect(await store.get(c)).toBeDefined()
      })
    }

    /** One request through the engine over this store: returns the next Cookie header. */
    const SECRET = 'store-suite-secret-0123456789-abcdefghij'
    const request = async (
      manager: ReturnType<typeof createSessionManager>,
      cookie: string | undefined,
      handler: (session: Record<string, unknown>) => void,
    ) => {
      const cycle = manager.begin({ cookieHeader: cookie })
      const session = (await cycle.load()) as unknown as Record<string, unknown>
      handler(session)
      const { setCookie } = await cycle.commit()
      return { cookie: setCookie[0]?.split(';')[0] ?? cookie, session }
    }

    it('S4: parallel requests writing different keys of one session all persist (through the engine)', async () => {
      const manager = createSessionManager({ secret: SECRET, store })
      const { cookie } = await request(manager, undefined, (s) => {
        s.user = 'ada'
      })
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          request(manager, cookie, (s) => {
            s[`k${i}`] = i
          }),
        ),
      )
      const { session } = await request(manager, cookie, () => {})
      const data = (session as unknown as { toJSON(): Record<string, unknown> }).toJSON()
      for (let i = 0; i < 50; i++) expect(data[`k${i}`]).toBe(i)
      expect(data.user).toBe('ada')
    })

    it('S7: while the store fails, the session fails closed and the stored one is neither overwritten nor lost', async () => {
      const failing = instrument(store)
      const manager = createSessionManager({ secret: SECRET, store: failing })
      const first = await request(manager, undefined, (s) => {
        s.user = 'ada'
      })
      failing.failing = true
      const cycle = manager.begin({ cookieHeader: first.cookie })
      const session = (await cycle.load()) as unknown as Record<string, unknown>
      let error: unknown
      try {
        session.user = 'mallory'
      } catch (e) {
        error = e
      }
      expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_STORE_UNAVAILABLE')
      expect((error as SessionError).status).toBe(503)
      expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
      failing.failing = false
      const after = await request(manager, first.cookie, () => {})
      expect((after.session as unknown as { toJSON(): unknown }).toJSON()).toEqual({ user: 'ada' })
    })

    const { namespaced } = factory
    if (namespaced) {
      it('S8: keys are namespaced: two namespaces over one backend never see each other’s records', async () => {
        const run = testId()
        const a = await namespaced(`a${run}`, clock)
        const sameAsA = await namespaced(`a${run}`, clock)
        const b = await namespaced(`b${run}`, clock)
        const id = testId()
        const user = `user-${testId()}`
        await a.set(id, record({ side: 'a' }, 1, user), { ttl: 60 })
        // One backend: the same namespace sees it, so the other's not seeing it is the namespace's doing.
        expect((await sameAsA.get(id))?.data).toEqual({ side: 'a' })
        expect(await b.get(id)).toBeUndefined()
        expect(await b.set(id, record({ side: 'b' }, 1, user), { ttl: 60, expectVersion: 0 })).toBe('ok')
        expect((await a.get(id))?.data).toEqual({ side: 'a' })
        if (b.listByUser && b.deleteByUser) {
          expect(await b.deleteByUser(user)).toBe(1)
          expect(await a.listByUser?.(user)).toEqual([id])
        } else {
          await b.delete(id)
        }
        expect(await b.get(id)).toBeUndefined()
        expect((await a.get(id))?.data).toEqual({ side: 'a' })
        await a.delete(id)
      })
    }

    it('S8: ids are validated before any I/O', async () => {
      for (const bad of [
        '',
        '../../etc/passwd',
        'a'.repeat(25),
        'short',
        'has space in it 1234567',
        '*',
        '__proto__',
      ]) {
        for (const call of [
          () => store.get(bad),
          () => store.set(bad, record({}), { ttl: 60 }),
          () => store.delete(bad),
          ...(store.touch ? [() => store.touch?.(bad, 60, 1) as Promise<void>] : []),
        ]) {
          const error = await call().then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(SessionError.is(error), `id ${JSON.stringify(bad)}`).toBe(true)
          expect((error as SessionError).code).toBe('ERR_SESSION_INVALID_ID')
        }
      }
    })
  })
}
