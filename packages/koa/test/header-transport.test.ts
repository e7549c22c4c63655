import { Jar, type RunningServer, send } from '@x/session-conformance-tests'
import Koa from 'koa'
import Koa2 from 'koa2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type KoaSessionOptions, memoryStore, session } from '../src/index.js'
import { type KoaClass, listen } from './harness.js'

const secret = 'koa-header-tests-secret-0123456789abcdef'
const HEADER = 'x-session-token'

describe.each<[string, KoaClass]>([
  ['koa 3', Koa],
  ['koa 2', Koa2],
])('%s', (_name, KoaClass) => {
  function start(options: KoaSessionOptions): Promise<RunningServer> {
    const app = new KoaClass()
    app.silent = true
    // What a CORS middleware does for a browser client on another origin.
    app.use(async (ctx, next) => {
      ctx.set('Access-Control-Expose-Headers', 'X-Session-Token')
      await next()
    })
    app.use(session({ secret, store: memoryStore(), ...options }))
    app.use(async (ctx) => {
      switch (ctx.path) {
        case '/login':
          ctx.session.userId = 'ada'
          ctx.session.flash('info', 'welcome')
          ctx.status = 303
          ctx.redirect('/me')
          return
        case '/me':
          ctx.body = { userId: ctx.session.userId ?? null, info: ctx.session.flash('info') }
          return
        case '/logout':
          await ctx.session.destroy()
          ctx.status = 204
          return
        case '/fail':
          ctx.session.userId = 'grace'
          ctx.throw(409)
      }
    })
    return listen(app)
  }

  describe("tokenHeader: 'X-Session-Token'", () => {
    let server: RunningServer
    beforeAll(async () => {
      server = await start({ tokenHeader: 'X-Session-Token' })
    })
    afterAll(() => server.close())

    it('a first request with an empty header is answered in the header, through ctx.redirect, with no cookie', async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      const login = await send(`${server.url}/login`, { method: 'POST', headers: jar.requestHeaders() })
      expect(login.status).toBe(303)
      expect(login.setCookie).toEqual([])
      expect(login.headers[HEADER]).toMatch(/^Fe26\.2\*/)
      expect(login.headers['access-control-expose-headers']).toBe('X-Session-Token')
      jar.apply(login)
      const me = await send(`${server.url}/me`, { headers: jar.requestHeaders() })
      expect(me.json()).toEqual({ userId: 'ada', info: ['welcome'] })
      jar.apply(me)
      // The flash message was read once.
      expect((await send(`${server.url}/me`, { headers: jar.requestHeaders() })).json()).toEqual({
        userId: 'ada',
        info: [],
      })
    })

    it("the token reaches the client through Koa's error response", async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      const failed = await send(`${server.url}/fail`, { method: 'POST', headers: jar.requestHeaders() })
      expect(failed.status).toBe(409)
      jar.apply(failed)
      expect(jar.token).toBeDefined()
      expect((await send(`${server.url}/me`, { headers: jar.requestHeaders() })).json()).toMatchObject({
        userId: 'grace',
      })
    })

    it('destroy() answers an empty header, and the old token is then no session', async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      jar.apply(await send(`${server.url}/login`, { method: 'POST', headers: jar.requestHeaders() }))
      const old = jar.clone()
      const logout = await send(`${server.url}/logout`, { method: 'POST', headers: jar.requestHeaders() })
      expect(logout.status).toBe(204)
      expect(logout.headers[HEADER]).toBe('')
      expect(logout.setCookie).toEqual([])
      expect((await send(`${server.url}/me`, { headers: old.requestHeaders() })).json()).toEqual({
        userId: null,
        info: [],
      })
    })

    it('a request without the header still uses the cookie', async () => {
      const login = await send(`${server.url}/login`, { method: 'POST' })
      expect(login.headers[HEADER]).toBeUndefined()
      const cookie = new Jar().apply(login).header()
      expect((await send(`${server.url}/me`, { cookie })).json()).toMatchObject({ userId: 'ada' })
    })
  })

  it('tokenHeader with cookie: false answers a request without the header in the header', async () => {
    const server = await start({ tokenHeader: { name: 'X-Session-Token', cookie: false } })
    try {
      const login = await send(`${server.url}/login`, { method: 'POST' })
      expect(login.setCookie).toEqual([])
      expect(login.headers[HEADER]).toMatch(/^Fe26\.2\*/)
    } finally {
      await server.close()
    }
  })
})
