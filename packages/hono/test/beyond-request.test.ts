import { createNodeWebSocket } from '@hono/node-ws'
import { Jar, openSocket, type RunningServer, send } from '@x/session-conformance-tests'
import {
  memoryStore,
  type SessionEnv,
  SessionError,
  SessionErrorCode,
  type SessionOptions,
  session,
} from '@x/session-hono'
import { findSession, getSession } from '@x/session-hono/context'
import { Hono } from 'hono'
import { cors } from 'hono/cors'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeUpgradeRecipeCases } from '../../conformance-tests/test/support/node-upgrade-recipe.js'
import { listen } from './harness.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'

interface Data {
  user?: string
  theme?: string
}
type Env = SessionEnv<Data>

const servers: RunningServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const ORIGIN = 'http://localhost:3000'

/** The README's WebSocket recipe, as written there. */
async function chatApp(options: Partial<SessionOptions> = {}) {
  const app = new Hono<Env>()
  const ws = createNodeWebSocket({ app })
  const { upgradeWebSocket } = ws
  app.use(session<Data>({ secret, ...options }))

  app.post('/login', async (c) => {
    await c.get('session').regenerate()
    c.get('session').user = 'ada'
    return c.json({ user: c.get('session').user })
  })
  app.post('/logout', async (c) => {
    await c.get('session').destroy()
    return c.json({ user: null })
  })
  app.get('/me', (c) =>
    c.json({ user: c.get('session').user ?? null, theme: c.get('session').theme ?? null }),
  )

  app.get(
    '/ws',
    async (c, next) => {
      if (c.get('session').isNew) return c.text('Unauthorized', 401)
      await next()
    },
    upgradeWebSocket((c) => {
      const session = c.get('session')
      let queue = Promise.resolve()
      return {
        onMessage(event, ws) {
          queue = queue.then(async () => {
            try {
              await session.reload()
              if (session.isNew) {
                ws.send(JSON.stringify({ user: null }))
                return ws.close(4401, 'logged out')
              }
              session.theme = String(event.data)
              await session.save()
              ws.send(JSON.stringify({ user: session.user, theme: session.theme }))
            } catch (error) {
              ws.send(JSON.stringify({ error: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' }))
            }
          })
        },
      }
    }),
  )

  // listen() is the README's serve() and injectWebSocket(server), plus closing for the tests.
  return listen(app as unknown as Hono, ws)
}

describe('WebSockets (@hono/node-ws)', () => {
  nodeUpgradeRecipeCases({
    origin: ORIGIN,
    start: (options) => chatApp({ store: memoryStore(), allowedOrigins: [ORIGIN], ...options }),
  })

  it("upgradeWebSocket's callback runs after the middleware: c.get('session') and getSession() are the socket's session", async () => {
    const app = new Hono<Env>()
    const ws = createNodeWebSocket({ app })
    app.use(session<Data>({ secret, store: memoryStore() }))
    app.post('/login', (c) => {
      c.get('session').user = 'ada'
      return c.json({ ok: true })
    })
    app.get(
      '/ws',
      ws.upgradeWebSocket((c) => {
        const same = findSession() === c.get('session')
        return {
          onMessage(_event, socket) {
            socket.send(JSON.stringify({ same, user: c.get('session').user }))
          },
        }
      }),
    )
    const server = await listen(app as unknown as Hono, ws)
    servers.push(server)
    const jar = new Jar().apply(await send(`${server.url}/login`, { method: 'POST' }))
    const socket = await openSocket(`${server.url}/ws`, { cookie: jar.header() })
    try {
      expect(JSON.parse(await socket.ask('?'))).toEqual({ same: true, user: 'ada' })
    } finally {
      await socket.close()
    }
  })
})

describe('getSession() from @x/session-hono/context', () => {
  async function service() {
    await new Promise((resolve) => setTimeout(resolve, 1))
    await new Promise((resolve) => setImmediate(resolve))
    return getSession<Data>()
  }

  /** An app whose handler, onError and notFound each record what getSession() finds there. */
  async function probeApp() {
    const seen: Record<string, boolean> = {}
    const app = new Hono<Env>()
    app.use(session<Data>({ secret }))
    app.onError((_error, c) => {
      seen.onError = findSession() !== undefined && findSession<Data>() === c.get('session')
      return c.json({ failed: true }, 500)
    })
    app.notFound((c) => {
      seen.notFound = findSession() !== undefined && findSession<Data>() === c.get('session')
      return c.json({ missing: true }, 404)
    })
    app.post('/json', async (c) => {
      const body = await c.req.json()
      const found = await service()
      return c.json({ same: found === c.get('session'), body })
    })
    app.post('/throw', async () => {
      await service()
      throw new Error('boom')
    })
    app.post('/write', async (c) => {
      ;(await service()).user = 'ada'
      return c.json({ ok: true })
    })
    app.get('/me', (c) => c.json(c.get('session').toJSON()))
    const server = await listen(app as unknown as Hono)
    servers.push(server)
    return { app, server, seen }
  }

  it('finds the session from a service function after the JSON body is read, over HTTP and in app.request()', async () => {
    const { app, server } = await probeApp()
    const body = JSON.stringify({ hello: 'world' })
    const reply = await send(`${server.url}/json`, { method: 'POST', body })
    expect(reply.json()).toEqual({ same: true, body: { hello: 'world' } })
    const inProcess = await app.request('/json', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(await inProcess.json()).toEqual({ same: true, body: { hello: 'world' } })
  })

  it('finds the session in app.onError and app.notFound', async () => {
    const { server, seen } = await probeApp()
    expect((await send(`${server.url}/throw`, { method: 'POST' })).status).toBe(500)
    expect((await send(`${server.url}/nowhere`)).status).toBe(404)
    expect(seen).toEqual({ onError: true, notFound: true })
  })

  it('is the live session: a write through it is committed', async () => {
    const { server } = await probeApp()
    const written = await send(`${server.url}/write`, { method: 'POST' })
    expect(written.setCookie).toHaveLength(1)
    const me = await send(`${server.url}/me`, { cookie: new Jar().apply(written).header() })
    expect(me.json()).toEqual({ user: 'ada' })
  })

  it('picks a session by cookie name when two are mounted', async () => {
    const app = new Hono<Env & SessionEnv<object, 'admin'>>()
    app.use(session<Data>({ secret }))
    app.use(session<object, 'admin'>({ secret, cookie: { name: 'admin' }, property: 'admin' }))
    app.get('/', (c) =>
      c.json({
        first: getSession<Data>() === c.get('session'),
        byName: getSession('admin') === c.get('admin'),
        missing: findSession('nope') === undefined,
      }),
    )
    expect(await (await app.request('/')).json()).toEqual({ first: true, byName: true, missing: true })
  })

  it('outside a request, getSession() throws ERR_SESSION_NO_CONTEXT and findSession() is undefined', () => {
    let error: unknown
    try {
      getSession()
    } catch (err) {
      error = err
    }
    expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.NO_CONTEXT)
    expect(findSession()).toBeUndefined()
  })
})

describe('header transport (tokenHeader)', () => {
  const TOKEN = 'x-session-token'

  function tokenApp(tokenHeader: SessionOptions['tokenHeader']) {
    const app = new Hono<Env>()
    // A browser app on another origin reads the header only when CORS exposes it.
    app.use(cors({ origin: 'https://app.example', exposeHeaders: ['X-Session-Token'] }))
    app.use(session<Data>({ secret, tokenHeader }))
    app.post('/login', (c) => {
      c.get('session').user = 'ada'
      return c.json({ ok: true })
    })
    app.post('/logout', async (c) => {
      await c.get('session').destroy()
      return c.json({ ok: true })
    })
    app.get('/me', (c) => c.json({ isNew: c.get('session').isNew, ...c.get('session').toJSON() }))
    return app
  }

  it('a first request with an empty header gets its token in the header, exposed to CORS, never a cookie', async () => {
    const app = tokenApp('X-Session-Token')
    const origin = 'https://app.example'
    const login = await app.request('/login', { method: 'POST', headers: { [TOKEN]: '', origin } })
    const token = login.headers.get(TOKEN)
    expect(token).toMatch(/^Fe26\.2\*/)
    expect(login.headers.getSetCookie()).toEqual([])
    expect(login.headers.get('access-control-expose-headers')).toMatch(/x-session-token/i)
    expect(login.headers.get('cache-control')).toMatch(/private|no-store/)

    const me = await app.request('/me', { headers: { [TOKEN]: String(token), origin } })
    expect(await me.json()).toEqual({ isNew: false, user: 'ada' })
    expect(me.headers.has(TOKEN)).toBe(false)

    const logout = await app.request('/logout', { method: 'POST', headers: { [TOKEN]: String(token) } })
    // An empty value tells the client to drop its token.
    expect(logout.headers.get(TOKEN)).toBe('')
    expect(logout.headers.getSetCookie()).toEqual([])
  })

  it('a request without the header still uses the cookie, unless `cookie: false`', async () => {
    const both = tokenApp('X-Session-Token')
    const login = await both.request('/login', { method: 'POST' })
    expect(login.headers.has(TOKEN)).toBe(false)
    const cookie = new Jar().apply({ setCookie: login.headers.getSetCookie() }).header()
    expect(await (await both.request('/me', { headers: { cookie } })).json()).toEqual({
      isNew: false,
      user: 'ada',
    })

    const headerOnly = tokenApp({ name: 'X-Session-Token', cookie: false })
    const answered = await headerOnly.request('/login', { method: 'POST', headers: { cookie } })
    expect(answered.headers.getSetCookie()).toEqual([])
    expect(answered.headers.get(TOKEN)).toMatch(/^Fe26\.2\*/)
    expect(await (await headerOnly.request('/me', { headers: { cookie } })).json()).toEqual({ isNew: true })
  })
})
