import { Jar, parseSetCookie, type Reply, send } from '@x/session-conformance-tests'
import express from 'express'
import { Passport } from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, type SessionStore, session } from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

interface User {
  id: string
  name: string
}
const users: Record<string, User> = { u1: { id: 'u1', name: 'alice' } }

function app(store: SessionStore | undefined) {
  const passport = new Passport()
  passport.use(
    new LocalStrategy((username, password, done) => {
      const user = Object.values(users).find((u) => u.name === username)
      done(null, user && password === 'secret' ? user : false)
    }),
  )
  passport.serializeUser((user, done) => done(null, (user as User).id))
  passport.deserializeUser((id: string, done) => done(null, users[id] ?? false))

  const app = express()
  app.use(express.urlencoded({ extended: false }))
  app.use(session({ secret: SECRET, store }))
  app.use(passport.initialize())
  app.use(passport.session())
  app.post('/visit', (req, res) => {
    req.session.visits = 1
    res.json({ id: req.session.id })
  })
  app.post('/login', passport.authenticate('local'), (req, res) => {
    res.json({ id: req.session.id })
  })
  app.get('/me', (req, res) => {
    res.json({ user: (req.user as User | undefined)?.name ?? null, visits: req.session.visits ?? null })
  })
  app.post('/logout', (req, res, next) => {
    req.logout((err) => {
      if (err) return next(err)
      req.session.destroy().then(() => res.json({ ok: true }), next)
    })
  })
  return app
}

const form = (username: string, password: string) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ username, password }).toString(),
})

/** `send` from the suite carries no body: a form POST goes through fetch, read back into a Reply. */
async function post(url: string, jar: Jar, init: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...init.headers, ...(jar.header() ? { cookie: jar.header() } : {}) },
    body: init.body,
  })
  const body = await res.text()
  const reply: Reply = {
    status: res.status,
    headers: Object.fromEntries(res.headers),
    setCookie: res.headers.getSetCookie(),
    body,
    json: () => JSON.parse(body),
  }
  jar.apply(reply)
  return reply
}

const me = async (url: string, cookie: string) => (await send(`${url}/me`, { cookie })).json()

describe.each([
  ['cookie store', () => undefined],
  ['memory store', () => memoryStore()],
])('passport (%s)', (storeName, createStore) => {
  let served: Served
  beforeAll(async () => {
    served = await serve(app(createStore()))
  })
  afterAll(() => served.close())

  it('L3: logIn regenerates the session; passport.session() restores the user on the next request', async () => {
    const jar = new Jar()
    const visit = await post(`${served.url}/visit`, jar)
    const before = { cookie: jar.header(), id: visit.json().id as string }

    const login = await post(`${served.url}/login`, jar, form('alice', 'secret'))
    expect(login.status).toBe(200)
    expect(login.setCookie).toHaveLength(1)
    expect(jar.header()).not.toBe(before.cookie)
    expect(login.json().id).not.toBe(before.id)

    expect(await me(served.url, jar.header())).toEqual({ user: 'alice', visits: null })
    // The cookie from before the login never carries the user; with a server store it is no session at all.
    const old = await me(served.url, before.cookie)
    expect(old.user).toBeNull()
    expect(old.visits).toBe(storeName === 'memory store' ? null : 1)
  })

  it('a wrong password is a 401 and leaves no user', async () => {
    const jar = new Jar()
    const reply = await post(`${served.url}/login`, jar, form('alice', 'wrong'))
    expect(reply.status).toBe(401)
    expect(await me(served.url, jar.header())).toEqual({ user: null, visits: null })
  })

  it('L4: logout then destroy() clears the cookie and the next request has no user', async () => {
    const jar = new Jar()
    await post(`${served.url}/login`, jar, form('alice', 'secret'))
    const loggedIn = jar.header()
    expect((await me(served.url, loggedIn)).user).toBe('alice')

    const logout = await post(`${served.url}/logout`, jar)
    expect(logout.status).toBe(200)
    const cleared = logout.setCookie.map(parseSetCookie).filter((c) => c.name === 'session')
    expect(cleared).toHaveLength(1)
    expect(cleared[0]?.attributes.get('max-age')).toBe('0')
    expect(jar.header()).toBe('')
    expect(await me(served.url, jar.header())).toEqual({ user: null, visits: null })
    // A server store deleted the record: replaying the logged-in cookie is no session (L5).
    if (storeName === 'memory store') expect((await me(served.url, loggedIn)).user).toBeNull()
  })
})
