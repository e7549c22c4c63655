import {
  createSessionManager,
  type KoaSessionOptions,
  memoryStore,
  type Session,
  type SessionData,
  SessionError,
  session,
} from '@x/session-koa'
import { findSession, getSession } from '@x/session-koa/context'
import Koa, { type Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@x/session-koa' {
  interface SessionData {
    userId: string
    cart: { items: string[] }
    theme: string
  }
}

describe('types', () => {
  it('session() is Koa middleware taking the core options plus `property`', () => {
    expectTypeOf(session).returns.toExtend<Middleware>()
    expectTypeOf(session().upgrade).returns.resolves.toEqualTypeOf<Session<SessionData>>()
    expectTypeOf<KoaSessionOptions>().toHaveProperty('property').toEqualTypeOf<string | undefined>()
    new Koa().use(
      session({ secret: 'x'.repeat(32), store: memoryStore(), idleTimeout: 3600, property: 'session' }),
    )
    // Outside production the secret may be left out (core makes one per process).
    session()
    // @ts-expect-error timeouts are numbers of seconds
    session({ secret: 'x'.repeat(32), idleTimeout: '1h' })
  })

  it("ctx.session is the package's augmentable Session<SessionData>", () => {
    new Koa().use(async (ctx, next) => {
      expectTypeOf(ctx.session).toEqualTypeOf<Session<SessionData>>()
      expectTypeOf(ctx.session.userId).toEqualTypeOf<string | undefined>()
      expectTypeOf(ctx.session.get('cart')).toEqualTypeOf<{ items: string[] } | undefined>()
      expectTypeOf(ctx.session.regenerate()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(ctx.session.destroy()).toEqualTypeOf<Promise<void>>()
      expectTypeOf(ctx.session.id).toEqualTypeOf<string>()
      ctx.session.userId = 'u1'
      ctx.session.set('userId', 'u1')
      // @ts-expect-error userId is a string
      ctx.session.userId = 1
      // @ts-expect-error userId is a string
      ctx.session.set('userId', 1)
      // @ts-expect-error not a key of SessionData
      ctx.session.get('nope')
      await next()
    })
  })

  it('re-exports the core API', () => {
    expectTypeOf(createSessionManager).toBeFunction()
    expectTypeOf(SessionError.is).guards.toEqualTypeOf<SessionError>()
  })
})

describe('@x/session-koa/context', () => {
  it("getSession() and findSession() are typed by the package's augmented SessionData", () => {
    expectTypeOf(getSession()).toEqualTypeOf<Session<SessionData>>()
    new Koa().use(async (ctx, next) => {
      expectTypeOf(getSession()).toEqualTypeOf(ctx.session)
      await next()
    })
    expectTypeOf(getSession().userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(findSession()).toEqualTypeOf<Session<SessionData> | undefined>()
    // @ts-expect-error userId is a string
    getSession().userId = 1
  })

  it('a second session is typed by its own data, found by its cookie name', () => {
    expectTypeOf(getSession<{ role: string }>('admin')).toEqualTypeOf<Session<{ role: string }>>()
    expectTypeOf(findSession<{ role: string }>('admin')?.role).toEqualTypeOf<string | undefined>()
    // @ts-expect-error the cookie name is a string
    getSession(1)
  })
})
