import { memoryRevocations } from '@x/session-core'
import { beforeEach, describe, expect, it } from 'vitest'
import { Jar } from '../client.js'
import type { InstrumentedStore } from '../stores.js'
import type { AdapterHarness } from '../types.js'
import { type Fixture, lackingIt, type Mode, q, startFixture } from './shared.js'

/**
 * Log out everywhere: S6 (the per-user index) on a server store; on the cookie store the same case
 * proves K6 (revocation by user).
 */
export function defineUserSessionCases(harness: AdapterHarness, mode: Mode): void {
  const serverSide = mode.store !== undefined
  describe('log out everywhere', () => {
    it(`${serverSide ? 'S6' : 'K6'}: ending a user's sessions ends each of them, and only theirs`, async () => {
      const app = await startFixture(
        harness,
        mode,
        serverSide ? {} : { revocations: memoryRevocations() },
        [],
        true,
      )
      try {
        const login = async (user: string) => {
          const reply = await app.post(q('/bind', { user, set: { name: user } }))
          expect(reply.status).toBe(200)
          return new Jar().apply(reply)
        }
        const [laptop, phone, other] = [await login('u1'), await login('u1'), await login('u2')]
        const seen = await app.manager?.begin({ cookieHeader: laptop.header() }).load()
        expect(
          seen?.isNew,
          `${harness.name} ignored the { manager } it was given, so the suite's manager cannot see its sessions: build the middleware's manager with resolveManager(options) from @x/session-core, which uses a given manager as it is`,
        ).toBe(false)
        if (serverSide) expect(await app.manager?.listUserSessions('u1')).toHaveLength(2)
        app.clock.advance(1)
        await app.manager?.endUserSessions('u1')
        expect((await app.get('/read?key=name', laptop)).json()).toMatchObject({ isNew: true, has: false })
        expect((await app.get('/read?key=name', phone)).json()).toMatchObject({ isNew: true, has: false })
        expect((await app.get('/read?key=name', other)).json()).toMatchObject({ isNew: false, value: 'u2' })
        app.clock.advance(1)
        const again = await login('u1')
        expect((await app.get('/read?key=name', again)).json()).toMatchObject({ isNew: false, value: 'u1' })
      } finally {
        await app.server.close()
      }
    })
  })
}

/** S7: a store that fails, through the engine and the adapter. */
export function defineStoreFailureCases(harness: AdapterHarness, mode: Mode, get: () => Fixture): void {
  const serverSide = mode.store !== undefined
  if (serverSide) {
    let f: Fixture
    beforeEach(() => {
      f = get()
    })

    describe('store failures', () => {
      lackingIt(harness, 'thrownErrors')(
        'S7: a down store fails requests that use the session with 503 and leaves the stored session intact',
        async () => {
          const { jar, id } = await f.login({ user: 'ada' })
          const store = f.store as InstrumentedStore
          store.failing = true
          try {
            expect((await f.get('/read', jar)).status).toBe(503)
            expect((await f.post(q('/write', { set: { user: 'mallory' } }), jar)).status).toBe(503)
            expect((await f.post(q('/write', { set: { fresh: 1 } }))).status).toBe(503)
            expect((await f.get('/noop', jar)).status).toBe(200)
          } finally {
            store.failing = false
          }
          expect((await store.inner.get(id))?.data).toEqual({ user: 'ada' })
          expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
        },
      )

      it("S7: with onStoreError 'anonymous' the request runs without a session and nothing is overwritten", async () => {
        const app = await startFixture(harness, mode, { onStoreError: 'anonymous' })
        try {
          const { jar, id } = await app.login({ user: 'ada' })
          const store = app.store as InstrumentedStore
          store.failing = true
          const reply = await app.post(q('/write', { set: { user: 'mallory' } }), jar)
          store.failing = false
          expect(reply.status).toBe(200)
          expect(reply.json().isNew).toBe(true)
          expect(reply.setCookie).toEqual([])
          expect((await store.inner.get(id))?.data).toEqual({ user: 'ada' })
          expect((await app.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
        } finally {
          await app.server.close()
        }
      })
    })
  }
}
