import { createTestClock } from '@x/session-core/testing'
import { describe, expect, it } from 'vitest'
import { instrument } from '../stores.js'
import type { AdapterHarness } from '../types.js'
import { type Mode, NAME, OTHER_SECRET, SECRET, sessionCookies, startFixture } from './shared.js'

/** Keys (K3, K4) over HTTP: two deploys of one app, before and after a key is added. */
export function defineKeyCases(harness: AdapterHarness, mode: Mode): void {
  describe('keys', () => {
    /** Two deploys of one app, before and after adding key k2 (sharing the store, as a rolling deploy does). */
    const deploys = async () => {
      const shared = mode.store ? instrument(await mode.store.create(createTestClock())) : undefined
      const before = await startFixture(harness, mode, { secret: { k1: SECRET }, store: shared })
      const after = await startFixture(harness, mode, {
        secret: { k1: SECRET, k2: OTHER_SECRET },
        store: shared,
      })
      return { before, after, close: () => Promise.all([before.server.close(), after.server.close()]) }
    }

    it('K3: a session read under an old key id is re-sealed under the newest in that response', async () => {
      const { before, after, close } = await deploys()
      try {
        const { jar } = await before.login({ user: 'ada' })
        expect(jar.get(NAME)?.split('*')[1]).toBe('k1')
        const read = await after.get('/read?key=user', jar)
        expect(read.json()).toMatchObject({ isNew: false, value: 'ada' })
        expect(sessionCookies(read)).toHaveLength(1)
        jar.apply(read)
        expect(jar.get(NAME)?.split('*')[1]).toBe('k2')
        expect((await after.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
      } finally {
        await close()
      }
    })

    it('K3: a route that never touches the session still re-seals it under the newest key id', async () => {
      const { before, after, close } = await deploys()
      try {
        const { jar } = await before.login({ user: 'ada' })
        const noop = await after.get('/noop', jar)
        expect(sessionCookies(noop)).toHaveLength(1)
        jar.apply(noop)
        expect(jar.get(NAME)?.split('*')[1]).toBe('k2')
        expect((await after.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
      } finally {
        await close()
      }
    })

    it('K4: a key id this instance does not know is no session, and the cookie is not deleted', async () => {
      const { before, after, close } = await deploys()
      try {
        const { jar } = await after.login({ user: 'ada' })
        expect(jar.get(NAME)?.split('*')[1]).toBe('k2')
        // The old deploy cannot read k2, and must not delete the cookie a newer deploy made.
        const old = await before.get('/read?key=user', jar)
        expect(old.status).toBe(200)
        expect(old.json().isNew).toBe(true)
        expect(old.setCookie).toEqual([])
        expect(before.events.some((e) => e.type === 'unknown-key' && e.keyId === 'k2')).toBe(true)
        expect((await after.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
      } finally {
        await close()
      }
    })
  })
}
