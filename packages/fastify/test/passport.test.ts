import { Authenticator } from '@fastify/passport'
import { Jar, listening, parseSetCookie, type RunningServer, send } from '@x/session-conformance-tests'
import Fastify from 'fastify'
import { Strategy as LocalStrategy } from 'passport-local'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, type Session, type SessionStore, session } from '../src/index.js'

const SECRET = 'fastify-passport-tests-secret-0123456789abcdef'

interface User {
  id: string
  name: string
}
const users: Record<string, User> = { u1: { id: 'u1', name: 'alice' } }

/** The README's recipe: the session plugin first, then @fastify/passport's initialize and secureSession. */
async function app(store: SessionStore | undefined) {
  const passport = new Authenticator()
  passport.use(
    'local',
    new LocalStrategy((username, password, done) => {
      const user = Object.values(users).find((u) => u.name === username)
      done(null, user && password === 'secret' ? user : false)
    }),
  )
  passport.registerUserSerializer(async (user: User) => user.id)
  passport.registerUserDeserializer(async (id: string) => users[id] ?? null)

  const app = Fastify()
  await app.register(session, { secret: SECRET, store })
  await app.register(passport.initialize())
  await app.register(passport.secureSession())
  const data = (request: { session: unknown }) => request.session as Session<Record<string, unknown>>
  app.post('/visit', async (request) => {
    data(request).visits = 1
    return { id: data(request).id }
  })
  app.post('/login', { preValidation: passport.authenticate('local') }, async (request) => ({
    id: data(request).id,
  }))
  app.get('/me', async (request) => ({
    user: (request.user as User | undefined)?.name ?? null,
    visits: data(request).visits ?? null,
  }))
  app.post('/logout', async (request) => {
    await request.logOut()
    await data(request).destroy()
    return { ok: true }
  })
  return app
}

const credentials = (username: string, password: string) => JSON.stringify({ username, password })

describe.each([
  ['cookie store', () => undefined],
  ['memory store', () => memoryStore()],
])('@fastify/passport (%s)', (storeName, createStore) => {
  let server: RunningServer
  let url: string
  beforeAll(async () => {
    const fastify = await app(createStore())
    await fastify.listen({ port: 0, host: '127.0.0.1' })
    server = await listening(fastify.server)
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

  it('L3: logIn regenerates the session; the user is restored from it on the next request', async () => {
    const jar = new Jar()
    const visit = await post('/visit', jar)
    const before = { cookie: jar.header(), id: visit.json().id as string }

    const login = await post('/login', jar, credentials('alice', 'secret'))
    expect(login.status).toBe(200)
    expect(login.setCookie).toHaveLength(1)
    expect(login.json().id).not.toBe(before.id)
    expect(jar.header()).not.toBe(before.cookie)
    expect(await me(jar.header())).toEqual({ user: 'alice', visits: null })
    // The cookie from before the login never carries the user; with a server store it is no session at all.
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

  it('L4: logOut then destroy() clears the cookie and the next request has no user', async () => {
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
