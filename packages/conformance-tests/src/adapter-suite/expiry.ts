import { createTestClock } from '@x/session-core/testing'
import { beforeEach, describe, expect, it } from 'vitest'
import { parseSetCookie } from '../client.js'
import { instrument } from '../stores.js'
import type { AdapterHarness } from '../types.js'
import {
  ABSOLUTE,
  type Fixture,
  IDLE,
  type Mode,
  q,
  ROLLING,
  SECRET,
  sessionCookies,
  startFixture,
} from './shared.js'

/** Expiry (X1-X9) over HTTP, with the suite's clock: idle, absolute, rolling refresh, per-session lifetime. */
export function defineExpiryCases(harness: AdapterHarness, mode: Mode, get: () => Fixture): void {
  describe('expiry', () => {
    let f: Fixture
    beforeEach(() => {
      f = get()
    })

    it('X1: no session after the idle window; activity slides it', async () => {
      const { jar } = await f.login({ user: 'ada' })
      f.clock.advance(IDLE - 10)
      const active = await f.post(q('/write', { set: { n: 1 } }), jar)
      jar.apply(active)
      f.clock.advance(IDLE - 10)
      const alive = await f.get('/read?key=user', jar)
      expect(alive.json()).toMatchObject({ isNew: false, value: 'ada' })
      // A rolling refresh that came due on that read is activity too: the window starts again there.
      // Idle expiry, met well before the absolute limit, so only the idle window can end it; the
      // store's clock stands still, so its ttl cannot end it first either.
      const store = mode.store ? instrument(await mode.store.create(createTestClock())) : undefined
      const app = await startFixture(harness, mode, { store })
      try {
        const idle = await app.login({ user: 'grace' })
        app.clock.advance(IDLE + 1)
        expect(IDLE + 1).toBeLessThan(ABSOLUTE)
        expect((await app.get('/read?key=user', idle.jar)).json()).toMatchObject({ isNew: true, has: false })
      } finally {
        await app.server.close()
      }
    })

    it('X2: no session after the absolute timeout, however active', async () => {
      const { jar } = await f.login({ user: 'ada' })
      let elapsed = 0
      while (elapsed + IDLE / 2 < ABSOLUTE) {
        f.clock.advance(IDLE / 2)
        elapsed += IDLE / 2
        const reply = await f.post(q('/write', { set: { elapsed } }), jar)
        expect(reply.json().isNew).toBe(false)
        jar.apply(reply)
      }
      f.clock.advance(ABSOLUTE - elapsed)
      expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: true, has: false })
    })

    it('X2: an absoluteTimeout lowered by a new deploy ends an older, recently active session', async () => {
      const DAY = 86_400
      const shared = mode.store ? instrument(await mode.store.create(createTestClock())) : undefined
      const lifetime = { secret: SECRET, store: shared, idleTimeout: 2 * DAY, rolling: DAY / 2 }
      const before = await startFixture(harness, mode, { ...lifetime, absoluteTimeout: 11 * DAY })
      const after = await startFixture(harness, mode, { ...lifetime, absoluteTimeout: 8 * DAY })
      try {
        const { jar } = await before.login({ user: 'ada' })
        // Active every day for ten days: the token and the store record stay valid for days more.
        for (let day = 1; day <= 10; day++) {
          before.clock.advance(DAY)
          const reply = await before.post(q('/write', { set: { day } }), jar)
          expect(reply.json().isNew, `day ${day}`).toBe(false)
          jar.apply(reply)
        }
        after.clock.set(before.clock())
        expect((await after.get('/read?key=user', jar)).json()).toMatchObject({ isNew: true, has: false })
      } finally {
        await Promise.all([before.server.close(), after.server.close()])
      }
    })

    it('X3: the idle slide never passes the absolute limit', async () => {
      const { jar } = await f.login({ user: 'ada' })
      f.clock.advance(IDLE - 10)
      jar.apply(await f.post(q('/write', { set: { n: 1 } }), jar))
      // Now within the idle window of that write, but only IDLE / 2 before the absolute limit.
      f.clock.advance(ABSOLUTE - IDLE / 2 - (IDLE - 10))
      const reply = await f.post(q('/write', { set: { n: 2 } }), jar)
      expect(reply.json().isNew).toBe(false)
      const cookie = parseSetCookie(sessionCookies(reply)[0] ?? '')
      expect(Number(cookie.attributes.get('max-age'))).toBe(IDLE / 2)
      expect((await f.get('/read', jar.apply(reply))).json().expiresAt).toBe(f.clock() + (IDLE / 2) * 1000)
      f.clock.advance(IDLE / 2)
      expect((await f.get('/read?key=user', jar)).json()).toMatchObject({
        isNew: true,
        has: false,
      })
    })

    it('X8: a per-session lifetime is honoured over HTTP and never exceeds absoluteTimeout', async () => {
      // "Remember me": an idle window longer than the configured one, asked beyond the absolute limit.
      const login = await f.post(
        q('/lifetime', { lifetime: { idleTimeout: ABSOLUTE * 10 }, set: { user: 'ada' } }),
      )
      const jar = f.jar().apply(login)
      if (f.transport === 'cookie') {
        const cookie = parseSetCookie(sessionCookies(login)[0] ?? '')
        expect(Number(cookie.attributes.get('max-age'))).toBe(ABSOLUTE)
      }
      f.clock.advance(IDLE + 10)
      const later = await f.get('/read?key=user', jar)
      expect(later.json()).toMatchObject({ isNew: false, value: 'ada' })
      f.clock.advance(ABSOLUTE - IDLE - 10)
      expect((await f.get('/read?key=user', jar.apply(later))).json()).toMatchObject({
        isNew: true,
        has: false,
      })

      // A shorter one ends the session before the configured idle timeout.
      const short = f
        .jar()
        .apply(await f.post(q('/lifetime', { lifetime: { idleTimeout: 60 }, set: { user: 'bo' } })))
      f.clock.advance(61)
      expect((await f.get('/read?key=user', short)).json()).toMatchObject({ isNew: true, has: false })
    })

    it('X9: a browser-session cookie carries neither Max-Age nor Expires, and still ends by idle and absolute time', async () => {
      const login = await f.post(q('/lifetime', { lifetime: { browserSession: true }, set: { user: 'ada' } }))
      const jar = f.jar().apply(login)
      if (f.transport === 'cookie') {
        const cookies = sessionCookies(login).map(parseSetCookie)
        expect(cookies).toHaveLength(1)
        expect(cookies[0]?.attributes.has('max-age')).toBe(false)
        expect(cookies[0]?.attributes.has('expires')).toBe(false)
      }
      f.clock.advance(IDLE + 1)
      expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: true, has: false })

      const active = f
        .jar()
        .apply(await f.post(q('/lifetime', { lifetime: { browserSession: true }, set: { user: 'bo' } })))
      let elapsed = 0
      while (elapsed + IDLE / 2 < ABSOLUTE) {
        f.clock.advance(IDLE / 2)
        elapsed += IDLE / 2
        const reply = await f.post(q('/write', { set: { elapsed } }), active)
        expect(reply.json().isNew).toBe(false)
        if (f.transport === 'cookie') expect(sessionCookies(reply)[0]).not.toMatch(/max-age|expires/i)
        active.apply(reply)
      }
      f.clock.advance(ABSOLUTE - elapsed)
      expect((await f.get('/read?key=user', active)).json()).toMatchObject({ isNew: true, has: false })
    })

    // A route that reads the session, and one that never touches it: a due refresh is the
    // session's to send either way.
    for (const [route, how] of [
      ['/read', 'read by the route'],
      ['/noop', 'never touched by the route'],
    ] as const) {
      it(`X5: an unchanged session (${how}) re-emits its cookie at most once per refresh interval`, async () => {
        const { jar } = await f.login({ user: 'ada' })
        f.clock.advance(ROLLING / 2)
        expect((await f.get(route, jar)).setCookie).toEqual([])
        f.clock.advance(ROLLING / 2)
        const refreshed = await f.get(route, jar)
        expect(sessionCookies(refreshed)).toHaveLength(1)
        jar.apply(refreshed)
        expect((await f.get(route, jar)).setCookie).toEqual([])
        f.clock.advance(ROLLING - 1)
        expect((await f.get(route, jar)).setCookie).toEqual([])
        // The refresh slid the idle window: alive past the original idle limit.
        f.clock.advance(IDLE - ROLLING - ROLLING / 2)
        expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
      })
    }

    it('X6: loading a session never extends its expiry by itself', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const writes = f.store ? f.store.calls.set + f.store.calls.touch : 0
      const expiresAt = (await f.get('/read', jar)).json().expiresAt
      // Three loads spread over most of the refresh interval: none is due a refresh.
      for (let i = 0; i < 3; i++) {
        f.clock.advance(ROLLING / 4)
        const reply = await f.get('/read', jar)
        expect(reply.setCookie).toEqual([])
        expect(reply.json().expiresAt).toBe(expiresAt)
      }
      if (f.store) expect(f.store.calls.set + f.store.calls.touch).toBe(writes)
    })
  })
}
