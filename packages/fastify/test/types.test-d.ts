import { createSessionManager, type Session, type SessionData, session } from '@x/session-fastify'
import { findSession, getSession } from '@x/session-fastify/context'
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@x/session-fastify' {
  interface SessionData {
    userId: string
    cart: { items: string[] }
  }
}

describe('types', () => {
  it('request.session is a Session of the augmented SessionData', () => {
    expectTypeOf<FastifyRequest['session']>().toEqualTypeOf<Session<SessionData>>()
    const request = {} as FastifyRequest
    expectTypeOf(request.session.userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(request.session.get('userId')).toEqualTypeOf<string | undefined>()
    expectTypeOf(request.session.cart?.items).toEqualTypeOf<string[] | undefined>()
    expectTypeOf(request.session.id).toEqualTypeOf<string>()
    expectTypeOf(request.session.regenerate()).toEqualTypeOf<Promise<void>>()
    request.session.userId = 'u1'
    request.session.set('userId', 'u1')
    // @ts-expect-error userId is a string
    request.session.set('userId', 1)
    // @ts-expect-error not a key of SessionData
    request.session.get('nope')
    // @ts-expect-error data never shadows the API
    request.session.id = 'x'
  })

  it('the plugin takes the core options plus property', () => {
    const app = Fastify()
    app.register(session, {
      secret: 'x'.repeat(32),
      cookie: { name: '__Host-s', secure: true },
      property: 'session',
    })
    app.register(session, { secret: { k1: 'x'.repeat(32) }, idleTimeout: 3600, rolling: false })
    app.register(session, {
      manager: createSessionManager<SessionData>({ secret: 'x'.repeat(32) }),
      property: 'session',
    })
    // @ts-expect-error property is a string
    app.register(session, { secret: 'x'.repeat(32), property: 1 })
    // @ts-expect-error seconds, not a string
    app.register(session, { secret: 'x'.repeat(32), idleTimeout: '1h' })
  })

  it('registers on an HTTP/2 server too', () => {
    Fastify({ http2: true }).register(session, { secret: 'x'.repeat(32) })
  })

  it('route handlers see the typed session', () => {
    const app = Fastify()
    app.get('/', async (request) => {
      expectTypeOf(request.session.userId).toEqualTypeOf<string | undefined>()
      return { userId: request.session.userId ?? null }
    })
  })

  it("getSession() from the context subpath is typed with the package's SessionData", () => {
    expectTypeOf(getSession()).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(getSession().userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(getSession('admin')).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(findSession()).toEqualTypeOf<Session<SessionData> | undefined>()
    interface AdminData {
      role: string
    }
    expectTypeOf(getSession<AdminData>('admin').role).toEqualTypeOf<string | undefined>()
    expectTypeOf(findSession<AdminData>('admin')).toEqualTypeOf<Session<AdminData> | undefined>()
    // @ts-expect-error a cookie name is a string
    getSession(1)
    // @ts-expect-error not a key of SessionData
    getSession().get('nope')
  })
})
