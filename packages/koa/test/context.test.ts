import { setTimeout as sleep } from 'node:timers/promises'
import { Jar, type RunningServer, send } from '@x/session-conformance-tests'
import Koa from 'koa'
import Koa2 from 'koa2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findSession, getSession } from '../src/context.js'
import { memoryStore, SessionError, SessionErrorCode, session } from '../src/index.js'
import { type KoaClass, listen } from './harness.js'

const secret = 'koa-context-tests-secret-0123456789abcdef'

/** A service function far from the middleware: it knows nothing of `ctx`. */
async function currentUser(): Promise<string | null> {
  await sleep(1)
  return getSession().userId ?? null
}

function rememberTheme(theme: string): void {
  getSession().theme = theme
}

/** The code of what `fn` throws, or 'none'. */
function codeOf(fn: () => unknown): string {
  try {
    fn()
    return 'none'
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
}

describe('outside a request', () => {
  it('getSession() throws ERR_SESSION_NO_CONTEXT and findSession() is undefined', () => {
    expect(codeOf(() => getSession())).toBe(SessionErrorCode.NO_CONTEXT)
    expect(findSession()).toBeUndefined()
  })
})

describe.each<[string, KoaClass]>([
  ['koa 3', Koa],
  ['koa 2', Koa2],
])('%s', (_name, KoaClass) => {
  let server: RunningServer
  /** What code outside the session middleware saw: upstream middleware and the 'error' event. */
  const outside: { upstream?: boolean; event?: boolean; ctxSession?: string | null } = {}
  beforeAll(async () => {
    const app = new KoaClass()
    app.silent = true
    app.on('error', () => {
      outside.event = findSession() !== undefined
    })
    // An error-rendering middleware mounted before the session, as apps usually mount it.
    app.use(async (ctx, next) => {
      try {
        await next()
      } finally {
        if (ctx.path === '/fail-upstream') {
          outside.upstream = findSession() !== undefined
          outside.ctxSession = ctx.session?.userId ?? null
        }
      }
    })
    app.use(session({ secret, store: memoryStore() }))
    app.use(session({ secret, cookie: { name: 'admin' }, property: 'admin' }))
    // An error-rendering middleware mounted after the session runs inside its context.
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (error) {
        if (ctx.path === '/fail-upstream') throw error
        ctx.status = 500
        ctx.body = { user: getSession().userId ?? null, same: getSession() === ctx.session }
      }
    })
    app.use(async (ctx) => {
      switch (ctx.path) {
        case '/login':
          ctx.session.userId = 'ada'
          ctx.body = {}
          return
        case '/me': {
          const user = await currentUser()
          rememberTheme('dark')
          ctx.body = { user, same: getSession() === ctx.session, theme: ctx.session.theme }
          return
        }
        case '/admin':
          getSession<{ role: string }>('admin').role = 'root'
          ctx.body = { first: getSession().userId ?? null, admin: ctx.admin.role }
          return
        case '/unknown-name':
          ctx.body = { code: codeOf(() => getSession('nope')), found: findSession('nope') !== undefined }
          return
        case '/fail':
          await currentUser()
          throw new Error('boom')
        case '/fail-upstream':
          throw new Error('boom')
      }
    })
    server = await listen(app)
  })
  afterAll(() => server.close())

  const login = async () => new Jar().apply(await send(`${server.url}/login`)).header()

  it('getSession() in a service function called by a middleware is ctx.session, and its changes are saved', async () => {
    const cookie = await login()
    const reply = await send(`${server.url}/me`, { cookie })
    expect(reply.json()).toEqual({ user: 'ada', same: true, theme: 'dark' })
    expect(reply.setCookie).toHaveLength(1)
  })

  it('getSession() is anonymous for a request without a session, never another request', async () => {
    await login()
    expect((await send(`${server.url}/me`)).json()).toEqual({ user: null, same: true, theme: 'dark' })
  })

  it('getSession(cookieName) picks one of several mounted sessions', async () => {
    const cookie = await login()
    const reply = await send(`${server.url}/admin`, { cookie })
    expect(reply.json()).toEqual({ first: 'ada', admin: 'root' })
    expect(reply.setCookie.map((c) => c.split('=', 1)[0])).toEqual(['admin'])
    const unknown = await send(`${server.url}/unknown-name`, { cookie })
    expect(unknown.json()).toEqual({ code: SessionErrorCode.NO_CONTEXT, found: false })
  })

  it('getSession() works in an error-handling middleware mounted after the session', async () => {
    const cookie = await login()
    const reply = await send(`${server.url}/fail`, { cookie })
    expect(reply.status).toBe(500)
    expect(reply.json()).toEqual({ user: 'ada', same: true })
  })

  it("upstream of the session and in the 'error' event there is no context: ctx.session is the way there", async () => {
    const cookie = await login()
    expect((await send(`${server.url}/fail-upstream`, { cookie })).status).toBe(500)
    expect(outside).toEqual({ upstream: false, event: false, ctxSession: 'ada' })
  })
})
