import {
  createSessionManager,
  type HonoSessionOptions,
  memoryStore,
  type Session,
  type SessionData,
  type SessionEnv,
  SessionError,
  session,
} from '@x/session-hono'
import { findSession, getSession } from '@x/session-hono/context'
import { Hono, type MiddlewareHandler } from 'hono'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@x/session-hono' {
  interface SessionData {
    userId: string
    cart: { items: string[] }
  }
}

const secret = 'x'.repeat(32)

describe('types', () => {
  it('session() is Hono middleware typed with SessionEnv, taking the core options plus `property`', () => {
    expectTypeOf(session({ secret })).toEqualTypeOf<MiddlewareHandler<SessionEnv>>()
    expectTypeOf<HonoSessionOptions>().toHaveProperty('property').toEqualTypeOf<'session' | undefined>()
    new Hono().use(session({ secret, store: memoryStore(), idleTimeout: 3600, rolling: false }))
    session()
    // @ts-expect-error timeouts are numbers of seconds
    session({ secret, idleTimeout: '1h' })
    // @ts-expect-error no such option
    session({ secret, unknownOption: true })
    // A manager of your own, to reach it from your code (log out everywhere).
    const manager = createSessionManager<SessionData>({ secret })
    expectTypeOf(session({ manager, property: 'session' })).toEqualTypeOf<MiddlewareHandler<SessionEnv>>()
  })

  it("c.get('session') on a Hono<SessionEnv> is the package's augmentable Session<SessionData>", () => {
    const app = new Hono<SessionEnv>()
    app.use(session({ secret }))
    app.get('/', async (c) => {
      const s = c.get('session')
      expectTypeOf(s).toEqualTypeOf<Session<SessionData>>()
      expectTypeOf(s.userId).toEqualTypeOf<string | undefined>()
      expectTypeOf(s.get('cart')).toEqualTypeOf<{ items: string[] } | undefined>()
      expectTypeOf(s.regenerate()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(s.destroy()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(s.id).toEqualTypeOf<string>()
      s.userId = 'u1'
      s.set('userId', 'u1')
      // @ts-expect-error userId is a string
      s.userId = 1
      // @ts-expect-error userId is a string
      s.set('userId', 1)
      // @ts-expect-error not a key of SessionData
      s.get('nope')
      // @ts-expect-error only the declared variables exist
      c.get('other')
      return c.text('ok')
    })
  })

  it('app.use(session()) types the routes chained after it on an untyped app', () => {
    new Hono().use(session({ secret })).get('/', (c) => {
      expectTypeOf(c.get('session')).toEqualTypeOf<Session<SessionData>>()
      return c.text('ok')
    })
  })

  it('a data type and a `property` of your own type a second session', () => {
    interface Prefs {
      theme: 'light' | 'dark'
    }
    const prefs = session<Prefs, 'prefs'>({ secret, cookie: { name: 'prefs' }, property: 'prefs' })
    expectTypeOf(prefs).toEqualTypeOf<MiddlewareHandler<SessionEnv<Prefs, 'prefs'>>>()
    new Hono<SessionEnv & SessionEnv<Prefs, 'prefs'>>()
      .use(session({ secret }))
      .use(prefs)
      .get('/', (c) => {
        expectTypeOf(c.get('prefs').theme).toEqualTypeOf<'light' | 'dark' | undefined>()
        expectTypeOf(c.get('session').userId).toEqualTypeOf<string | undefined>()
        return c.text('ok')
      })
    // @ts-expect-error the property must match the one in the type
    session<Prefs, 'prefs'>({ secret, property: 'other' })
  })

  it('re-exports the core API', () => {
    expectTypeOf(createSessionManager).toBeFunction()
    expectTypeOf(SessionError.is).returns.toEqualTypeOf<boolean>()
  })

  it("getSession() from the context subpath is typed with the package's SessionData", () => {
    expectTypeOf(getSession()).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(getSession().userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(getSession('prefs')).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(findSession()).toEqualTypeOf<Session<SessionData> | undefined>()
    interface Prefs {
      theme: 'light' | 'dark'
    }
    expectTypeOf(getSession<Prefs>('prefs').theme).toEqualTypeOf<'light' | 'dark' | undefined>()
    expectTypeOf(findSession<Prefs>('prefs')).toEqualTypeOf<Session<Prefs> | undefined>()
    // @ts-expect-error a cookie name is a string
    getSession(1)
    // @ts-expect-error not a key of SessionData
    getSession().get('nope')
  })
})
