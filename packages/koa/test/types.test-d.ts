import {
  createSessionManager,
  type KoaSessionOptions,
  memoryStore,
  type Session,
  type SessionData,
  SessionError,
  session,
} from '@x/session-koa'
import Koa, { type Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@x/session-koa' {
  interface SessionData {
    userId: string
    cart: { items: string[] }
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
