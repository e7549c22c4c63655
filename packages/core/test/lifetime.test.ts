import { describe, expect, it } from 'vitest'
import {
  createSessionManager,
  memoryStore,
  type SessionEvent,
  type SessionOptions,
  type SessionStore,
} from '../src/index.js'
import { lifetimeFrom, rollingOf, timeoutsOf } from '../src/internal/lifetime.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

const SECRET = 'lifetime-test-secret-0123456789-abcdefghij'
const HOUR = 3600
const DAY = 86_400

describe('lifetime decisions', () => {
  it.each([
    ['none: the configured timeouts', undefined, [7 * DAY, 30 * DAY]],
    ['a longer idle ("remember me")', { i: 30 * DAY }, [30 * DAY, 30 * DAY]],
    ['a shorter absolute', { a: DAY }, [7 * DAY, DAY]],
    ['an absolute beyond the configured one is cut to it', { a: 90 * DAY }, [7 * DAY, 30 * DAY]],
    ['browser session alone keeps the timeouts', { b: 1 as const }, [7 * DAY, 30 * DAY]],
  ])('timeoutsOf: %s', (_name, lifetime, [idle, absolute]) => {
    expect(timeoutsOf(lifetime, 7 * DAY * 1000, 30 * DAY * 1000)).toEqual({
      idleMs: (idle as number) * 1000,
      absoluteMs: (absolute as number) * 1000,
    })
  })

  it('rollingOf: at least four refreshes per idle window of a session with a shorter idle', () => {
    expect(rollingOf(undefined, 42 * HOUR * 1000, 600_000)).toBe(42 * HOUR * 1000)
    expect(rollingOf({ i: 600 }, 42 * HOUR * 1000, 600_000)).toBe(150_000)
    expect(rollingOf({ i: 30 * DAY }, 42 * HOUR * 1000, 30 * DAY * 1000)).toBe(42 * HOUR * 1000)
  })

  it('lifetimeFrom: whole seconds, capped by the absolute limit; bad values are a reason', () => {
    expect(
      lifetimeFrom({ idleTimeout: 90.7, absoluteTimeout: 99 * DAY, browserSession: true }, 30 * DAY),
    ).toEqual({
      i: 90,
      a: 30 * DAY,
      b: 1,
    })
    expect(lifetimeFrom({ idleTimeout: 99 * DAY }, 30 * DAY)).toEqual({ i: 30 * DAY })
    expect(lifetimeFrom({ browserSession: false }, 30 * DAY)).toEqual({})
    for (const bad of [
      { idleTimeout: 0 },
      { idleTimeout: Number.NaN },
      { absoluteTimeout: '1' },
      { browserSession: 1 },
    ]) {
      expect(typeof lifetimeFrom(bad, 30 * DAY)).toBe('string')
    }
  })
})

describe.each([
  ['cookie store', () => undefined],
  ['memory store', (clock: () => number) => memoryStore({ clock })],
])('per-session lifetime (%s)', (_name, createStore: (clock: () => number) => SessionStore | undefined) => {
  function setup(extra: Partial<SessionOptions> = {}) {
    const clock = createTestClock()
    const events: SessionEvent[] = []
    const store = createStore(clock)
    const manager = createSessionManager({
      secret: SECRET,
      clock,
      idleTimeout: HOUR,
      absoluteTimeout: 10 * DAY,
      onEvent: (e) => events.push(e),
      ...(store ? { store } : {}),
      ...extra,
    })
    let jar: string | undefined
    const request = async (handler: (s: Loose) => unknown = () => {}) => {
      const cycle = manager.begin({ cookieHeader: jar })
      const session = (await cycle.load()) as Loose
      await handler(session)
      const { setCookie } = await cycle.commit()
      if (setCookie.length) jar = setCookie.map((line) => line.split(';')[0]).join('; ')
      return { session, setCookie }
    }
    return { clock, request, events }
  }

  it('X8: "remember me" outlives the configured idle timeout, within the absolute one', async () => {
    const { clock, request } = setup()
    const login = await request((s) => {
      s.user = 'ada'
      s.setLifetime({ idleTimeout: 3 * DAY })
    })
    expect(login.setCookie[0]).toContain(`Max-Age=${3 * DAY}`)
    clock.advance(2 * DAY)
    expect((await request()).session.user).toBe('ada')
    clock.advance(3 * DAY + 1)
    expect((await request()).session.isNew).toBe(true)
  })

  it("X8: a lifetime chosen later in a session reaches the seal (and a server store's reused token)", async () => {
    const { clock, request } = setup()
    await request((s) => {
      s.user = 'ada'
    })
    const chosen = await request((s) => s.setLifetime({ idleTimeout: 3 * DAY }))
    expect(chosen.setCookie[0]).toContain(`Max-Age=${3 * DAY}`)
    clock.advance(2 * DAY)
    expect((await request()).session.user).toBe('ada')
  })

  it('X8: a per-session lifetime never passes the configured absolute timeout', async () => {
    const { clock, request } = setup()
    await request((s) => {
      s.user = 'ada'
      s.setLifetime({ idleTimeout: 99 * DAY, absoluteTimeout: 99 * DAY })
    })
    // Active every 5 days: the idle window never closes, the absolute limit (10 days) does.
    clock.advance(5 * DAY)
    expect((await request((s) => s.touch())).session.user).toBe('ada')
    clock.advance(5 * DAY)
    expect((await request()).session.isNew).toBe(true)
  })

  it('X8: a shorter per-session idle ends the session sooner, and activity still slides it', async () => {
    const { clock, request } = setup()
    await request((s) => {
      s.user = 'ada'
      s.setLifetime({ idleTimeout: 600 })
    })
    for (let i = 0; i < 4; i++) {
      clock.advance(500)
      expect((await request()).session.user).toBe('ada')
    }
    clock.advance(601)
    expect((await request()).session.isNew).toBe(true)
  })

  it('X8: the lifetime survives regenerate(), and a bad value is ERR_SESSION_INVALID_OPTION', async () => {
    const { request } = setup()
    await request((s) => {
      s.user = 'ada'
      s.setLifetime({ idleTimeout: 3 * DAY })
    })
    const after = await request(async (s) => {
      await s.regenerate({ keep: true })
    })
    expect(after.setCookie[0]).toContain(`Max-Age=${3 * DAY}`)
    await request((s) => {
      expect(() => s.setLifetime({ idleTimeout: -1 })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
      )
    })
  })

  it('X9: a browser-session cookie has neither Max-Age nor Expires, and still ends by idle and absolute time', async () => {
    const { clock, request } = setup()
    const login = await request((s) => {
      s.user = 'ada'
      s.setLifetime({ browserSession: true })
    })
    expect(login.setCookie).toHaveLength(1)
    expect(login.setCookie[0]).not.toMatch(/max-age|expires/i)
    clock.advance(HOUR - 60)
    const refreshed = await request((s) => {
      s.visits = 1
    })
    expect(refreshed.setCookie[0]).not.toMatch(/max-age|expires/i)
    expect(refreshed.session.user).toBe('ada')
    clock.advance(HOUR + 1)
    expect((await request()).session.isNew).toBe(true)
  })

  it('X9: setLifetime({}) goes back to the configured lifetime, with Max-Age again', async () => {
    const { request } = setup()
    await request((s) => {
      s.user = 'ada'
      s.setLifetime({ browserSession: true })
    })
    const back = await request((s) => s.setLifetime({}))
    expect(back.setCookie[0]).toContain(`Max-Age=${HOUR}`)
  })
})
