import { Jar, send } from '@x/session-conformance-tests'
import express5, { type Express, type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ExpressSessionOptions, memoryStore, session } from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

const HEADER = 'x-session-token'

describe.each([
  ['express 5', express5],
  ['express 4', express4],
])('%s', (_name, express) => {
  function app(options: ExpressSessionOptions): Express {
    const app = express()
    // What a CORS middleware does for a browser client on another origin.
    app.use((_req, res, next) => {
      res.set('Access-Control-Expose-Headers', 'X-Session-Token')
      next()
    })
    app.use(session({ secret: SECRET, store: memoryStore(), ...options }))
    app.post('/login', (req, res) => {
      req.session.user = 'ada'
      req.session.flash('info', 'welcome')
      res.redirect(303, '/me')
    })
    app.get('/me', (req, res) => {
      res.json({ user: req.session.user ?? null, info: req.session.flash('info') })
    })
    app.post('/logout', (req, res, next) => {
      req.session.destroy().then(() => res.status(204).end(), next)
    })
    app.post('/fail', (req, _res, next) => {
      req.session.user = 'grace'
      next(new Error('boom'))
    })
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ failed: true })
    })
    return app
  }

  describe("tokenHeader: 'X-Session-Token'", () => {
    let served: Served
    beforeAll(async () => {
      served = await serve(app({ tokenHeader: 'X-Session-Token' }))
    })
    afterAll(() => served.close())

    it('a first request with an empty header is answered in the header, through res.redirect, with no cookie', async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      const login = await send(`${served.url}/login`, { method: 'POST', headers: jar.requestHeaders() })
      expect(login.status).toBe(303)
      expect(login.setCookie).toEqual([])
      expect(login.headers[HEADER]).toMatch(/^Fe26\.2\*/)
      expect(login.headers['access-control-expose-headers']).toBe('X-Session-Token')
      jar.apply(login)
      const me = await send(`${served.url}/me`, { headers: jar.requestHeaders() })
      expect(me.json()).toEqual({ user: 'ada', info: ['welcome'] })
      jar.apply(me)
      // The flash message was read once.
      expect((await send(`${served.url}/me`, { headers: jar.requestHeaders() })).json()).toEqual({
        user: 'ada',
        info: [],
      })
    })

    it("the token reaches the client through the app's error handler", async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      const failed = await send(`${served.url}/fail`, { method: 'POST', headers: jar.requestHeaders() })
      expect(failed.status).toBe(500)
      jar.apply(failed)
      expect(jar.token).toBeDefined()
      expect((await send(`${served.url}/me`, { headers: jar.requestHeaders() })).json()).toMatchObject({
        user: 'grace',
      })
    })

    it('destroy() answers an empty header, and the old token is then no session', async () => {
      const jar = new Jar({ tokenHeader: HEADER })
      jar.apply(await send(`${served.url}/login`, { method: 'POST', headers: jar.requestHeaders() }))
      const old = jar.clone()
      const logout = await send(`${served.url}/logout`, { method: 'POST', headers: jar.requestHeaders() })
      expect(logout.status).toBe(204)
      expect(logout.headers[HEADER]).toBe('')
      expect(logout.setCookie).toEqual([])
      expect((await send(`${served.url}/me`, { headers: old.requestHeaders() })).json()).toEqual({
        user: null,
        info: [],
      })
    })

    it('a request without the header still uses the cookie', async () => {
      const jar = new Jar()
      const login = await send(`${served.url}/login`, { method: 'POST' })
      expect(login.headers[HEADER]).toBeUndefined()
      jar.apply(login)
      expect((await send(`${served.url}/me`, { cookie: jar.header() })).json()).toMatchObject({ user: 'ada' })
    })
  })

  it('tokenHeader with cookie: false answers a request without the header in the header', async () => {
    const served = await serve(app({ tokenHeader: { name: 'X-Session-Token', cookie: false } }))
    try {
      const login = await send(`${served.url}/login`, { method: 'POST' })
      expect(login.setCookie).toEqual([])
      expect(login.headers[HEADER]).toMatch(/^Fe26\.2\*/)
    } finally {
      await served.close()
    }
  })
})
