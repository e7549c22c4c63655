import {
  createSessionManager,
  createWebSession,
  findSession,
  getSession,
  memoryStore,
  type RequestSession,
  type Session,
  type SessionData,
  SessionError,
  withSession,
} from '@x/session-web'
import { getSession as current, findSession as currentFind } from '@x/session-web/context'
import { describe, expectTypeOf, it } from 'vitest'

declare module '@x/session-web' {
  interface SessionData {
    userId: string
    cart: { items: string[] }
  }
}

const secret = 'x'.repeat(32)

describe('types', () => {
  it("withSession() keeps the handler's parameters and takes core's options plus onError", () => {
    interface Env {
      DB: string
    }
    const wrapped = withSession(
      (_request: Request, _env: Env, _ctx: { waitUntil(p: Promise<unknown>): void }) => new Response(),
      {
        secret,
        store: memoryStore(),
        idleTimeout: 3600,
        onError: () => new Response(null, { status: 500 }),
      },
    )
    expectTypeOf(wrapped).parameters.toEqualTypeOf<[Request, Env, { waitUntil(p: Promise<unknown>): void }]>()
    expectTypeOf(wrapped).returns.toEqualTypeOf<Promise<Response>>()
    // Bun's fetch may return nothing once server.upgrade() took the request.
    expectTypeOf(withSession((): Response | undefined => undefined)).returns.toEqualTypeOf<
      Promise<Response | undefined>
    >()
    withSession(() => new Response())
    // A framework's own Request subclass (Bun's BunRequest with `params`) stays the handler's type.
    interface RoutedRequest extends Request {
      params: { id: string }
    }
    const routed = withSession((request: RoutedRequest) => new Response(request.params.id))
    expectTypeOf(routed).parameters.toEqualTypeOf<[RoutedRequest]>()
    withSession(() => new Response(), { manager: createSessionManager<SessionData>({ secret }) })
    // @ts-expect-error timeouts are numbers of seconds
    withSession(() => new Response(), { secret, idleTimeout: '1h' })
    // @ts-expect-error a handler answers with a Response
    withSession(() => 'text')
  })

  it("getSession(request) is the package's augmentable Session<SessionData>", () => {
    const s = getSession(new Request('http://x/'))
    expectTypeOf(s).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(s.userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(s.get('cart')).toEqualTypeOf<{ items: string[] } | undefined>()
    expectTypeOf(findSession(new Request('http://x/'))).toEqualTypeOf<Session<SessionData> | undefined>()
    interface Prefs {
      theme: 'light' | 'dark'
    }
    expectTypeOf(getSession<Prefs>(new Request('http://x/'), 'prefs').theme).toEqualTypeOf<
      'light' | 'dark' | undefined
    >()
    // @ts-expect-error userId is a string
    s.userId = 1
    // @ts-expect-error not a key of SessionData
    s.get('nope')
    // @ts-expect-error the request comes first
    getSession('prefs')
  })

  it('createWebSession() gives load() and commit() for frameworks that own the handler', () => {
    const sessions = createWebSession({ secret })
    expectTypeOf(sessions.load).returns.toEqualTypeOf<Promise<RequestSession<SessionData>>>()
    expectTypeOf<RequestSession['session']>().toEqualTypeOf<Session<SessionData>>()
    expectTypeOf<RequestSession['commit']>().returns.toEqualTypeOf<Promise<Response>>()
    interface Prefs {
      theme: 'light' | 'dark'
    }
    expectTypeOf(createWebSession<Prefs>({ secret }).load).returns.toEqualTypeOf<
      Promise<RequestSession<Prefs>>
    >()
  })

  it('re-exports the core API', () => {
    expectTypeOf(createSessionManager).toBeFunction()
    expectTypeOf(SessionError.is).returns.toEqualTypeOf<boolean>()
  })

  it("getSession() from the context subpath is typed with the package's SessionData", () => {
    expectTypeOf(current()).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(current().userId).toEqualTypeOf<string | undefined>()
    expectTypeOf(currentFind('prefs')).toEqualTypeOf<Session<SessionData> | undefined>()
    // @ts-expect-error a cookie name is a string
    current(1)
  })
})
