import { describe, expect, it } from 'vitest'
import { createSessionManager, memoryStore, type SessionOptions, type SessionStore } from '../src/index.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data
type Loose = any

const OLD = 'server-store-token-old-0123456789-abcdefgh'
const NEW = 'server-store-token-new-0123456789-abcdefgh'
const HOUR = 3600

/** One store and one clock, shared by every manager a test makes (deploys of one app). */
function world() {
  const store = memoryStore()
  const clock = createTestClock()
  const manager = (extra: Partial<SessionOptions> = {}) =>
    createSessionManager({
      secret: NEW,
      store,
      clock,
      idleTimeout: HOUR,
      absoluteTimeout: 8 * HOUR,
      ...extra,
    })
  return { store, clock, manager }
}

const tokenOf = (setCookie: string[]) => {
  expect(setCookie).toHaveLength(1)
  return (setCookie[0] as string).split(';')[0] as string
}
const maxAgeOf = (setCookie: string[]) => Number(/Max-Age=(\d+)/.exec(setCookie[0] as string)?.[1])

async function request(
  manager: ReturnType<ReturnType<typeof world>['manager']>,
  cookie: string | undefined,
  handler: (session: Loose) => unknown | Promise<unknown>,
) {
  const cycle = manager.begin({ cookieHeader: cookie })
  const session: Loose = await cycle.load()
  await handler(session)
  return { session, result: await cycle.commit() }
}

describe('server stores: the token names the session and is sent again as it is', () => {
  it('E4, X1: a write sends the same token with a slid Max-Age; the store holds the change', async () => {
    const { clock, manager, store } = world()
    const app = manager()
    const login = await request(app, undefined, (s) => {
      s.user = 'ada'
    })
    const cookie = tokenOf(login.result.setCookie)
    clock.advance(HOUR - 10)
    const write = await request(app, cookie, (s) => {
      s.n = 1
    })
    // A new seal draws new salts and a new IV: an equal value means nothing was sealed.
    expect(tokenOf(write.result.setCookie)).toBe(cookie)
    expect(maxAgeOf(write.result.setCookie)).toBe(HOUR)
    expect((await store.get(write.session.id))?.data).toEqual({ user: 'ada', n: 1 })
    // Past the login's idle window, inside the write's: the same token still opens the session.
    clock.advance(HOUR - 10)
    const read = await request(app, cookie, () => {})
    expect(read.session.isNew).toBe(false)
    expect(read.session.n).toBe(1)
  })

  it('X1, X2: the token lasts the absolute lifetime, and the store still ends the session when idle', async () => {
    const { clock, manager } = world()
    const app = manager({ rolling: false })
    const cookie = tokenOf(
      (
        await request(app, undefined, (s) => {
          s.user = 'ada'
        })
      ).result.setCookie,
    )
    // Iron's expiration field (the sixth of Fe26.2): the creation time plus the absolute lifetime.
    expect(Number(cookie.split('*')[5])).toBe(clock() + 8 * HOUR * 1000)
    clock.advance(HOUR + 1)
    expect((await request(app, cookie, () => {})).session.isNew).toBe(true)
  })

  it('K3: a token sealed under an older key id is sealed again under the newest', async () => {
    const { manager } = world()
    const before = manager({ secret: { k1: OLD } })
    const after = manager({ secret: { k1: OLD, k2: NEW } })
    const cookie = tokenOf(
      (
        await request(before, undefined, (s) => {
          s.user = 'ada'
        })
      ).result.setCookie,
    )
    const write = await request(after, cookie, (s) => {
      s.n = 1
    })
    const resealed = tokenOf(write.result.setCookie)
    expect(resealed).not.toBe(cookie)
    expect(resealed).toMatch(/^[^=]+=Fe26\.2\*k2\*/)
    expect((await request(after, resealed, () => {})).session.n).toBe(1)
  })

  it('L3: regenerate() and a change of bound user seal a new token', async () => {
    const { manager } = world()
    const app = manager()
    const cookie = tokenOf(
      (
        await request(app, undefined, (s) => {
          s.user = 'ada'
        })
      ).result.setCookie,
    )
    const bound = await request(app, cookie, (s) => s.bindUser('ada'))
    const boundCookie = tokenOf(bound.result.setCookie)
    expect(boundCookie).not.toBe(cookie)
    const regenerated = await request(app, boundCookie, (s) => s.regenerate({ keep: true }))
    const next = tokenOf(regenerated.result.setCookie)
    expect(next).not.toBe(boundCookie)
    expect((await request(app, boundCookie, () => {})).session.isNew).toBe(true)
    expect((await request(app, next, () => {})).session.user).toBe('ada')
  })

  it('X4: a token whose own expiry comes before the session would end is sealed again', async () => {
    const { clock, manager } = world()
    // A deploy with a shorter absolute lifetime sealed it: its token expires with that lifetime.
    const short = manager({ idleTimeout: HOUR, absoluteTimeout: 2 * HOUR })
    const long = manager()
    const cookie = tokenOf(
      (
        await request(short, undefined, (s) => {
          s.user = 'ada'
        })
      ).result.setCookie,
    )
    clock.advance(0.75 * HOUR)
    expect(
      tokenOf(
        (
          await request(short, cookie, (s) => {
            s.n = 0
          })
        ).result.setCookie,
      ),
    ).toBe(cookie)
    clock.advance(0.75 * HOUR)
    const write = await request(long, cookie, (s) => {
      s.n = 1
    })
    const resealed = tokenOf(write.result.setCookie)
    expect(resealed).not.toBe(cookie)
    // Past the first token's own expiry, inside the session's idle window: only the new token opens it.
    clock.advance(0.75 * HOUR)
    expect((await request(long, cookie, () => {})).session.isNew).toBe(true)
    expect((await request(long, resealed, () => {})).session.n).toBe(1)
  })

  it('S7: a failed store write sends no token at all, reused or new', async () => {
    const { manager, store } = world()
    let failing = false
    const flaky: SessionStore = {
      get: (id) => store.get(id),
      set: (id, s, o) => (failing ? Promise.reject(new Error('down')) : store.set(id, s, o)),
      delete: (id) => store.delete(id),
    }
    const app = manager({ store: flaky })
    const cookie = tokenOf(
      (
        await request(app, undefined, (s) => {
          s.user = 'ada'
        })
      ).result.setCookie,
    )
    failing = true
    const cycle = app.begin({ cookieHeader: cookie })
    ;((await cycle.load()) as Loose).n = 1
    await expect(cycle.commit()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE' })
  })
})
