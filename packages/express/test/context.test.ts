import { setTimeout as sleep } from 'node:timers/promises'
import { Jar, send } from '@x/session-conformance-tests'
import express5, { type Express, type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findSession, getSession } from '../src/context.js'
import { memoryStore, SessionError, SessionErrorCode, session } from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

/** A service function far from the route: it knows nothing of `req`. */
async function currentUser(): Promise<string | null> {
  await sleep(1)
  return getSession().user ?? null
}

function rememberVisit(): void {
  const visits = getSession().visits ?? 0
  getSession().visits = visits + 1
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

describe.each([
  ['express 5', express5],
  ['express 4', express4],
])('%s', (_name, express) => {
  let served: Served
  beforeAll(async () => {
    const app: Express = express()
    app.use(session({ secret: SECRET, store: memoryStore() }))
    app.use(session({ secret: SECRET, cookie: { name: 'admin' }, property: 'admin' }))
    app.post('/login', (req, res) => {
      req.session.user = 'ada'
      res.json({})
    })
    app.get('/me', (req, res, next) => {
      currentUser().then((user) => {
        rememberVisit()
        res.json({ user, same: getSession() === req.session, visits: req.session.visits })
      }, next)
    })
    app.get('/admin', (_req, res) => {
      getSession('admin').role = 'root'
      res.json({ first: getSession().user ?? null, admin: getSession('admin').role })
    })
    app.get('/unknown-name', (_req, res) => {
      res.json({ code: codeOf(() => getSession('nope')), found: findSession('nope') !== undefined })
    })
    app.get('/later', (_req, res) => {
      // Callbacks scheduled inside the request keep its context.
      setTimeout(() => res.json({ user: findSession()?.user ?? null }), 1)
    })
    app.get('/fail-async', (_req, _res, next) => {
      currentUser().then(() => next(new Error('boom')), next)
    })
    app.get('/fail-sync', () => {
      throw new Error('boom')
    })
    app.use((_err: unknown, req: Request, res: Response, _next: NextFunction) => {
      // The error handler runs inside the request too: say who failed.
      res.status(500).json({ user: getSession().user ?? null, same: getSession() === req.session })
    })
    served = await serve(app)
  })
  afterAll(() => served.close())

  const login = async () => new Jar().apply(await send(`${served.url}/login`, { method: 'POST' })).header()

  it('getSession() in a service function called by a route is req.session, and its changes are saved', async () => {
    const cookie = await login()
    const first = await send(`${served.url}/me`, { cookie })
    expect(first.json()).toEqual({ user: 'ada', same: true, visits: 1 })
    const second = await send(`${served.url}/me`, { cookie })
    expect(second.json()).toEqual({ user: 'ada', same: true, visits: 2 })
  })

  it('getSession() is anonymous for a request without a session, never another request', async () => {
    await login()
    expect((await send(`${served.url}/me`)).json()).toEqual({ user: null, same: true, visits: 1 })
  })

  it('getSession(cookieName) picks one of several mounted sessions', async () => {
    const cookie = await login()
    const reply = await send(`${served.url}/admin`, { cookie })
    expect(reply.json()).toEqual({ first: 'ada', admin: 'root' })
    expect(reply.setCookie.map((c) => c.split('=', 1)[0])).toEqual(['admin'])
    const unknown = await send(`${served.url}/unknown-name`, { cookie })
    expect(unknown.json()).toEqual({ code: SessionErrorCode.NO_CONTEXT, found: false })
  })

  it('getSession() works in a timer the request scheduled', async () => {
    const cookie = await login()
    expect((await send(`${served.url}/later`, { cookie })).json()).toEqual({ user: 'ada' })
  })

  it("getSession() works in the app's error handler, for async and sync failures", async () => {
    const cookie = await login()
    for (const path of ['/fail-async', '/fail-sync']) {
      const reply = await send(served.url + path, { cookie })
      expect(reply.status).toBe(500)
      expect(reply.json()).toEqual({ user: 'ada', same: true })
    }
  })
})
