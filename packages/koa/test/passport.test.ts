import { bodyParser } from '@koa/bodyparser'
import { Jar, parseSetCookie, type RunningServer, send } from '@x/session-conformance-tests'
import Koa from 'koa'
import { KoaPassport } from 'koa-passport'
import { Strategy as LocalStrategy } from 'passport-local'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, type SessionStore, session } from '../src/index.js'
import { listen } from './harness.js'

const SECRET = 'koa-passport-tests-secret-0123456789abcdefgh'

interface User {
  id: string
  name: string
}
const users: Record<string, User> = { u1: { id: 'u1', name: 'alice' } }

/** The README's recipe: the session middleware first, then koa-passport's initialize and session. */
function app(store: SessionStore | undefined) {
  const passport = new KoaPassport()
  passport.use(
    new LocalStrategy((username, password, done) => {
      const user = Object.values(users).find((u) => u.name === username)
      done(null, user && password === 'secret' ? user : false)
    }),
  )
  passport.serializeUser((user, done) => done(null, (user as User).id))
  passport.deserializeUser((id: string, done) => done(null, users[id] ?? false))

  const app = new Koa()
  app.use(bodyParser())
  app.use(session({ secret: SECRET, store }))
  app.use(passport.initialize())
  app.use(passport.session())
  app.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      await passport.authenticate('local')(ctx, next)
      if (ctx.isAuthenticated()) ctx.body = { id: ctx.session.id }
      return
    }
    if (ctx.method === 'POST' && ctx.path === '/visit') {
      ;(ctx.session as unknown as Record<string, unknown>).visits = 1
      ctx.body = { id: ctx.session.id }
      return
    }
    if (ctx.method === 'POST' && ctx.path === '/logout') {
      await ctx.logout()
      await ctx.session.destroy()
      ctx.body = { ok: true }
      return
    }
    if (ctx.path === '/me') {
      ctx.body = {
        user: (ctx.state.user as User | undefined)?.name ?? null,
        visits: (ctx.session as unknown as Record<string, unknown>).visits ?? null,
      }
    }
  })
  return app
}

const credentials = (username: string, password: string) => JSON.stringify({ username, password })

describe.each([
  ['cookie store', () => undefined],
  ['memory store', () => memoryStore()],
])('koa-passport (%s)', (storeName, createStore) => {
  let server: RunningServer
  let url: string
  beforeAll(async () => {
    server = await listen(app(createStore()))
    url = server.url
  })
  afterAll(() => server.close())

  const post = async (path: string, jar: Jar, body?: string) => {
    const reply = await send(`${url}${path}`, {
      method: 'POST',
      cookie: jar.header(),
      ...(body ? { body } : {}),
    })
    jar.apply(reply)
    return reply
  }
  const me = async (cookie: string) => (await send(`${url}/me`, { cookie })).json()

  it('L3: logIn regenerates the session; passport.session() restores the user on the next request', async () => {
    const jar = new Jar()
    const visit = await post('/visit', jar)
    const before = { cookie: jar.header(), id: visit.json().id as string }

    const login = await post('/login', jar, credentials('alice', 'secret'))
    expect(login.status).toBe(200)
    expect(login.setCookie).toHaveLength(1)
    expect(login.json().id).not.toBe(before.id)
    expect(jar.header()).not.toBe(before.cookie)
    expect(await me(jar.header())).toEqual({ user: 'alice', visits: null })
    const old = await me(before.cookie)
    expect(old.user).toBeNull()
    expect(old.visits).toBe(storeName === 'memory store' ? null : 1)
  })

  it('a wrong password is a 401 and leaves no user', async () => {
    const jar = new Jar()
    const reply = await post('/login', jar, credentials('alice', 'wrong'))
    expect(reply.status).toBe(401)
    expect(await me(jar.header())).toEqual({ user: null, visits: null })
  })

  it('L4: logout then destroy() clears the cookie and the next request has no user', async () => {
    const jar = new Jar()
    await post('/login', jar, credentials('alice', 'secret'))
    const loggedIn = jar.header()
    expect((await me(loggedIn)).user).toBe('alice')

    const logout = await post('/logout', jar)
    expect(logout.status).toBe(200)
    const cleared = logout.setCookie.map(parseSetCookie).filter((c) => c.name === 'session')
    expect(cleared).toHaveLength(1)
    expect(cleared[0]?.attributes.get('max-age')).toBe('0')
    expect(jar.header()).toBe('')
    expect(await me(jar.header())).toEqual({ user: null, visits: null })
    if (storeName === 'memory store') expect((await me(loggedIn)).user).toBeNull()
  })
})
