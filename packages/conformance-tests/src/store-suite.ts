import {
  createSessionManager,
  isSessionId,
  type SessionChange,
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
  /**
   * `false`: the store has no per-user index (no `listByUser` / `deleteByUser`): S6 is reported as
   * not supported by this store, by a case that checks the methods are indeed missing. Left
   * unset, S6 runs, and fails for a store without them.
   */
  userIndex?: boolean
  /**
   * `false`: the store cannot check versions (it declares `unsupported.versionedSet`, and its
   * `set` lets the last write win): S3 is reported as not supported by this store, by a case that
   * checks the declaration and that a stale `expectVersion` is indeed written. Left unset, S3 runs,
   * and fails for a store that declares it cannot check versions.
   */
  versionedSet?: boolean
  /**
   * A store over the same backend as `create`'s, under key namespace `namespace` (a Redis key
   * prefix, a table, ...), for S8's namespacing case. Stores whose records share a backend with
   * other data give it; a store that keeps its records to itself (the memory store) has none.
   */
  namespaced?(namespace: string, clock: () => number): SessionStore | Promise<SessionStore>
  /**
   * The store is bounded: it keeps at most this many sessions (S9 writes 1.2 times as many
   * anonymous ones after a bound one). Leave unset for a store that never evicts early.
   */
  maxEntries?: number
  /** The `maxDataSize` of the stores `create` returns, in bytes (S10). @default 1048576 */
  maxDataSize?: number
  /**
   * `false`: the store has no `apply` (the engine saves it with version-checked `set`s): S11 is
   * reported as not supported by this store, by a case that checks `apply` is indeed missing.
   * Left unset, the S11 cases run, and fail for a store without it.
   */
  apply?: boolean
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

    const SECRET = 'store-suite-secret-0123456789-abcdefghij'
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

    /** A case for a capability the factory declares the store lacks: named so, and proving the lack. */
    const notSupported = (id: string, what: string, proof: () => Promise<void>) =>
      it(`${id}: ${what}: not supported by this store (declared)`, proof)
    /** Fails a case of a capability the store itself declares it lacks, saying how to declare it. */
    const undeclared = (capability: string, flag: string) => {
      throw new Error(
        `${factory.name} declares it lacks ${capability}; set ${flag} in its factory so the suite reports it as not supported`,
      )
    }

    const versionedSet = factory.versionedSet ?? true
    if (!versionedSet) {
      notSupported('S3', 'version-checked set', async () => {
        const reason = store.unsupported?.versionedSet
        expect(typeof reason === 'string' && reason.length > 0, 'store.unsupported.versionedSet').toBe(true)
        // The lack is real: a stale expectVersion is written, not a conflict.
        const id = testId()
        await store.set(id, record({ a: 1 }, 1), { ttl: 60 })
        expect(await store.set(id, record({ a: 2 }, 7), { ttl: 60, expectVersion: 0 })).toBe('ok')
        expect(await store.get(id)).toMatchObject({ data: { a: 2 }, version: 7 })
      })
    }

    if (versionedSet)
      it('S3: a stale expectVersion is a conflict and changes nothing', async () => {
        if (store.unsupported?.versionedSet) undeclared('version checks', 'versionedSet: false')
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

    if (versionedSet)
      it('S3: of parallel saves from one version, exactly one wins', async () => {
        if (store.unsupported?.versionedSet) undeclared('version checks', 'versionedSet: false')
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
    if (!userIndex) {
      notSupported('S6', 'per-user index', async () => {
        expect(store.listByUser, 'store.listByUser').toBeUndefined()
        expect(store.deleteByUser, 'store.deleteByUser').toBeUndefined()
        // So the engine refuses what needs the index, rather than answering wrongly.
        const manager = createSessionManager({ secret: SECRET, store })
        await expect(manager.listUserSessions('ada')).rejects.toMatchObject({
          code: 'ERR_SESSION_UNSUPPORTED',
        })
      })
    }
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

    /** Runs `writers` x `rounds` requests of one session at once through the engine (S4, S11). */
    const contention = async (writers: number, rounds: number) => {
      const counted = instrument(store)
      const errors: unknown[] = []
      const manager = createSessionManager({ secret: SECRET, store: counted })
      const { cookie } = await request(manager, undefined, (s) => {
        s.user = 'ada'
      })
      const before = { ...counted.calls }
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let r = 0; r < rounds; r++) {
            try {
              await request(manager, cookie, (s) => {
                s[`k${w}_${r}`] = r // a key only this request writes
                s[`tmp${w}_${r}`] = true // kept until this writer's next request deletes it
                delete s[`tmp${w}_${r - 1}`]
                s.last = w // the same key, written by everyone
                void s.user // read, not changed
              })
            } catch (error) {
              errors.push(error)
            }
          }
        }),
      )
      const calls = {
        get: counted.calls.get - before.get,
        set: counted.calls.set - before.set,
        apply: counted.calls.apply - before.apply,
      }
      const { session } = await request(manager, cookie, () => {})
      const data = (session as unknown as { toJSON(): Record<string, unknown> }).toJSON()
      return { errors, calls, data, hasApply: counted.apply !== undefined }
    }

    it('S4: 10 parallel writers of one session (changed, unchanged and deleted keys): no request fails and every change is kept', async () => {
      const writers = 10
      const rounds = 8
      const { errors, calls, data, hasApply } = await contention(writers, rounds)
      expect(errors).toEqual([])
      for (let w = 0; w < writers; w++) {
        for (let r = 0; r < rounds; r++) expect(data[`k${w}_${r}`], `k${w}_${r}`).toBe(r)
        for (let r = 0; r < rounds - 1; r++) expect(data[`tmp${w}_${r}`], `tmp${w}_${r}`).toBeUndefined()
        expect(data[`tmp${w}_${rounds - 1}`]).toBe(true)
      }
      expect(data.user).toBe('ada')
      expect(data.last).toBeGreaterThanOrEqual(0)
      expect(data.last).toBeLessThan(writers)
      if (hasApply) {
        // S11: one store round trip per write (the load's get aside): no conflict, no re-read.
        expect(calls).toEqual({ get: writers * rounds, set: 0, apply: writers * rounds })
      }
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

    const { maxEntries } = factory
    if (maxEntries !== undefined) {
      it(`S9: ${Math.ceil(maxEntries * 1.2)} anonymous sessions do not push out an earlier bound one`, async () => {
        const bound = testId()
        await store.set(bound, record({ cart: 1 }, 1, `user-${testId()}`), { ttl: 600 })
        const first = testId()
        await store.set(first, record({}, 1), { ttl: 600 })
        const writes = Math.ceil(maxEntries * 1.2)
        for (let i = 0; i < writes; i++) await store.set(testId(), record({ i }, 1), { ttl: 600 })
        expect((await store.get(bound))?.data).toEqual({ cart: 1 })
        // The bound held: it was the anonymous sessions that went, oldest first.
        expect(await store.get(first)).toBeUndefined()
      })
    }

    const maxDataSize = factory.maxDataSize ?? 1_048_576
    /** Data whose JSON is exactly `bytes` long in UTF-8, made of `char` (1 or 2 bytes) and padding. */
    const dataOf = (bytes: number, char: 'x' | 'é') => {
      const room = bytes - '{"v":""}'.length
      const width = char === 'x' ? 1 : 2
      return { v: char.repeat(Math.floor(room / width)) + 'x'.repeat(room % width) }
    }

    it(`S10: data over maxDataSize (${maxDataSize} bytes of JSON) is refused with ERR_SESSION_TOO_LARGE and nothing changes`, async () => {
      const id = testId()
      expect(await store.set(id, record({ keep: 1 }, 1), { ttl: 60 })).toBe('ok')
      for (const char of ['x', 'é'] as const) {
        const error = await store.set(id, record(dataOf(maxDataSize + 1, char), 2), { ttl: 60 }).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(SessionError.is(error) && error.code, `${char}`).toBe('ERR_SESSION_TOO_LARGE')
        const read = await store.get(id)
        expect(read?.data).toEqual({ keep: 1 })
        expect(read?.version).toBe(1)
      }
      // Exactly at the limit is accepted, counted in bytes: 'é' is two.
      const at = dataOf(maxDataSize, 'é')
      expect(await store.set(id, record(at, 2), { ttl: 60, expectVersion: 1 })).toBe('ok')
      expect((await store.get(id))?.data).toEqual(at)
    })

    it('S10: the engine passes ERR_SESSION_TOO_LARGE through to the request, not as a store failure', async () => {
      const events: string[] = []
      const manager = createSessionManager({
        secret: SECRET,
        store,
        onEvent: (event) => events.push(event.type),
      })
      const { cookie } = await request(manager, undefined, (s) => {
        s.keep = 1
      })
      const cycle = manager.begin({ cookieHeader: cookie })
      const session = (await cycle.load()) as unknown as Record<string, unknown>
      session.big = 'x'.repeat(maxDataSize)
      const error = await cycle.commit().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_TOO_LARGE')
      expect(events).not.toContain('store-error')
      const after = await request(manager, cookie, () => {})
      expect((after.session as unknown as { toJSON(): unknown }).toJSON()).toEqual({ keep: 1 })
    })

    const change = (
      set: Record<string, unknown>,
      remove: string[] = [],
      extra: Partial<SessionChange> = {},
    ): SessionChange => ({ set, remove, refreshedAt: 5000, ...extra })
    const withApply = () => {
      if (!store.apply) throw new Error('unreachable: guarded by hasApply')
      return store.apply.bind(store)
    }
    if (factory.apply === false) {
      notSupported('S11', 'apply', async () => {
        expect(store.apply, 'store.apply').toBeUndefined()
      })
    }
    if (factory.apply !== false)
      describe('S11: apply (stores that merge a change set themselves)', () => {
        it('S11: merges set and removed keys, leaves the others, sets refreshedAt and the ttl, bumps the version', async () => {
          if (!store.apply) throw new Error(`${factory.name} has no apply; set apply: false`)
          const apply = withApply()
          const id = testId()
          const created = record({ keep: { deep: [1, 2] }, drop: 1, change: 'a', nums: [] }, 3)
          await store.set(id, created, { ttl: 1 })
          expect(
            await apply(id, change({ change: 'b', added: { x: null } }, ['drop', 'absent']), { ttl: 60 }),
          ).toBe(4)
          await elapse(1.2)
          const read = await store.get(id)
          expect(read?.data).toEqual({ keep: { deep: [1, 2] }, change: 'b', nums: [], added: { x: null } })
          expect(read?.version).toBe(4)
          expect(read?.refreshedAt).toBe(5000)
          expect(read?.createdAt).toBe(created.createdAt)
          // Values come back as they went in: floats, big integers, unicode, empty containers.
          const values = {
            f: 0.1 + 0.2,
            big: 2 ** 53 - 1,
            neg: -1e-7,
            s: 'é\u2028"\\',
            e: {},
            a: [[]],
            t: true,
          }
          expect(await apply(id, change(values), { ttl: 60 })).toBe(5)
          expect((await store.get(id))?.data).toEqual({ ...read?.data, ...values })
          // The ttl is the one of the apply: a short one ends the record.
          await apply(id, change({}), { ttl: 1 })
          await elapse(1.2)
          expect(await store.get(id)).toBeUndefined()
        })

        it('S11: a missing or ended record is not brought back', async () => {
          if (!store.apply) throw new Error(`${factory.name} has no apply; set apply: false`)
          const apply = withApply()
          const id = testId()
          expect(await apply(id, change({ a: 1 }), { ttl: 60 })).toBeUndefined()
          expect(await store.get(id)).toBeUndefined()
          await store.set(id, record({ a: 1 }), { ttl: 60 })
          await store.delete(id)
          expect(await apply(id, change({ a: 2 }), { ttl: 60 })).toBeUndefined()
          expect(await store.get(id)).toBeUndefined()
          await store.set(id, record({ a: 1 }), { ttl: 1 })
          await elapse(1.2)
          expect(await apply(id, change({ a: 3 }), { ttl: 60 })).toBeUndefined()
          expect(await store.get(id)).toBeUndefined()
        })

        it('S11: 10 writers applying at once: every change kept, the version bumped once per apply', async () => {
          if (!store.apply) throw new Error(`${factory.name} has no apply; set apply: false`)
          const apply = withApply()
          const id = testId()
          await store.set(id, record({ base: 1 }, 1), { ttl: 60 })
          const writers = 10
          const rounds = 20
          await Promise.all(
            Array.from({ length: writers }, async (_, w) => {
              for (let r = 0; r < rounds; r++) {
                const version = await apply(
                  id,
                  change({ [`k${w}_${r}`]: r, [`t${w}_${r}`]: 1 }, [`t${w}_${r - 1}`]),
                  {
                    ttl: 60,
                  },
                )
                expect(version).toBeGreaterThan(1)
              }
            }),
          )
          const read = await store.get(id)
          expect(read?.version).toBe(1 + writers * rounds)
          const expected: Record<string, unknown> = { base: 1 }
          for (let w = 0; w < writers; w++) {
            for (let r = 0; r < rounds; r++) expected[`k${w}_${r}`] = r
            expected[`t${w}_${rounds - 1}`] = 1
          }
          expect(read?.data).toEqual(expected)
        })

        it('S11: merged data over maxDataSize is refused with ERR_SESSION_TOO_LARGE and nothing changes', async () => {
          if (!store.apply) throw new Error(`${factory.name} has no apply; set apply: false`)
          const apply = withApply()
          const id = testId()
          const half = 'x'.repeat(Math.floor(maxDataSize / 2))
          await store.set(id, record({ a: half }, 1), { ttl: 60 })
          const error = await apply(id, change({ b: half }), { ttl: 60 }).then(
            () => undefined,
            (e: unknown) => e,
          )
          expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_TOO_LARGE')
          const read = await store.get(id)
          expect(read?.data).toEqual({ a: half })
          expect(read?.version).toBe(1)
          // Removing a key makes room again.
          expect(await apply(id, change({ b: half }, ['a']), { ttl: 60 })).toBe(2)
          expect((await store.get(id))?.data).toEqual({ b: half })
        })

        if (userIndex) {
          it('S11: bind sets or clears the user, and the per-user index follows; no bind leaves it', async () => {
            if (!store.apply || !store.listByUser)
              throw new Error(
                `${factory.name} has no apply or no listByUser; set apply: false or userIndex: false`,
              )
            const apply = withApply()
            const id = testId()
            const user = `user-${testId()}`
            await store.set(id, record({}, 1), { ttl: 60 })
            await apply(id, change({ a: 1 }, [], { bind: { user } }), { ttl: 60 })
            expect((await store.get(id))?.user).toBe(user)
            expect(await store.listByUser(user)).toEqual([id])
            await apply(id, change({ b: 1 }), { ttl: 600 })
            expect((await store.get(id))?.user).toBe(user)
            expect(await store.listByUser(user)).toEqual([id])
            await apply(id, change({ c: 1 }, [], { bind: { user: undefined } }), { ttl: 60 })
            expect((await store.get(id))?.user).toBeUndefined()
            expect(await store.listByUser(user)).toEqual([])
          })
        }
      })

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
          ...(store.apply ? [() => withApply()(bad, change({}), { ttl: 60 })] : []),
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
