import { createSessionManager, type RevocationStore, SessionError } from '@x/session-core'
import { createTestClock, type TestClock } from '@x/session-core/testing'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'

export interface RevocationStoreFactory {
  /** Shown in test names. */
  name: string
  /**
   * A revocation store for one test. Stores that keep time with the suite's clock use `clock`;
   * stores that keep time themselves set `realTime`.
   */
  create(clock: () => number): RevocationStore | Promise<RevocationStore>
  /** The store expires revocations by the real clock: the ttl case waits (about 1.2 s). */
  realTime?: boolean
  dispose?(): Promise<void>
}

let counter = 0
/** A subject no other test of this run uses, with characters a key scheme must keep apart. */
function subject(kind: 'u' | 's' = 'u'): string {
  return `${kind}:conf-${process.pid}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/** Later revocations written after a victim's, in batches of this many at once. */
const LATER_REVOCATIONS = 1000
const BATCH = 100

const SECRET = 'revocation-suite-secret-0123456789-abcdefghij'

/**
 * The revocation store conformance suite: every K7 property a `RevocationStore` must show on its
 * own, and the reproduction through the engine (cookie store, `endUserSessions`).
 */
export function describeRevocationConformance(factory: RevocationStoreFactory): void {
  describe(`${factory.name} revocation store conformance`, () => {
    let clock: TestClock
    let store: RevocationStore
    beforeEach(async () => {
      clock = createTestClock(Date.now())
      store = await factory.create(clock)
    })
    if (factory.dispose) afterAll(() => factory.dispose?.())

    const elapse = async (seconds: number) => {
      clock.advance(seconds)
      if (factory.realTime) await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    }

    /** Writes `count` revocations of fresh subjects; a full store may refuse them, never forget. */
    const revokeOthers = async (count: number) => {
      let refused = 0
      for (let done = 0; done < count; done += BATCH) {
        const results = await Promise.allSettled(
          Array.from({ length: Math.min(BATCH, count - done) }, () => store.set(subject(), clock(), 3600)),
        )
        for (const result of results) {
          if (result.status === 'fulfilled') continue
          const error = result.reason as unknown
          // The only acceptable failure: the store says it is full, so the caller knows.
          expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_REVOCATIONS_FULL')
          refused++
        }
      }
      return refused
    }

    it('K7: get answers every subject in order, undefined where nothing is kept', async () => {
      const [a, b, c] = [subject('u'), subject('s'), subject('u')]
      await store.set(a, 1000, 60)
      await store.set(c, 3000, 60)
      expect(await store.get([a, b, c])).toEqual([1000, undefined, 3000])
      expect(await store.get([c, a])).toEqual([3000, 1000])
      expect(await store.get([b])).toEqual([undefined])
      expect(await store.get([])).toEqual([])
    })

    it('K7: subjects are opaque: look-alike subjects never share an entry', async () => {
      const base = subject()
      const odd = [base, `${base}}`, `${base}{x}`, `${base}*`, `${base}\n`, `${base}é`, `${base}e\u0301`]
      for (const [i, s] of odd.entries()) await store.set(s, 100 + i, 60)
      expect(await store.get(odd)).toEqual(odd.map((_, i) => 100 + i))
    })

    it('K7: a kept time is never lowered, and its ttl never shortened', async () => {
      const s = subject()
      await store.set(s, 5000, 60)
      await store.set(s, 4000, 60)
      expect(await store.get([s])).toEqual([5000])
      await store.set(s, 6000, 1)
      expect(await store.get([s])).toEqual([6000])
      await elapse(1.2)
      // The shorter ttl of the later call did not cut the earlier 60 s.
      expect(await store.get([s])).toEqual([6000])
    })

    it('K7: a revocation is gone after its ttl', async () => {
      const s = subject()
      await store.set(s, 5000, 1)
      expect(await store.get([s])).toEqual([5000])
      await elapse(1.2)
      expect(await store.get([s])).toEqual([undefined])
    })

    it(`K7: no number of later revocations (${LATER_REVOCATIONS}) forgets an unexpired one`, async () => {
      const victim = subject()
      await store.set(victim, 7000, 3600)
      await revokeOthers(LATER_REVOCATIONS)
      expect(await store.get([victim])).toEqual([7000])
    })

    it(`K7: endUserSessions stays in force after ${LATER_REVOCATIONS} later revocations (cookie store)`, async () => {
      const manager = createSessionManager({ secret: SECRET, revocations: store, clock })
      const login = manager.begin({ cookieHeader: undefined })
      const session = await login.load()
      const victim = `victim7-${subject()}`
      session.bindUser(victim)
      ;(session as unknown as Record<string, unknown>).name = 'victim'
      const cookie = (await login.commit()).setCookie[0]?.split(';')[0]
      expect(cookie).toBeDefined()
      const user = async () => (await manager.begin({ cookieHeader: cookie }).load()).boundUser
      expect(await user()).toBe(victim)

      clock.advance(1)
      const logout = await manager.endUserSessions(victim).then(
        () => 'ended',
        (error: unknown) => error,
      )
      // A store that cannot keep the revocation says so; one that took it must keep it.
      if (logout !== 'ended') {
        expect(SessionError.is(logout) && logout.code).toBe('ERR_SESSION_REVOCATIONS_FULL')
        return
      }
      expect(await user()).toBeUndefined()
      for (let done = 0; done < LATER_REVOCATIONS; done += BATCH) {
        const results = await Promise.allSettled(
          Array.from({ length: BATCH }, () => manager.endUserSessions(`other-${subject()}`)),
        )
        for (const result of results) {
          if (result.status === 'rejected') {
            const error = result.reason as unknown
            expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_REVOCATIONS_FULL')
          }
        }
      }
      expect(await user()).toBeUndefined()
    })
  })
}
