import { request as httpRequest } from 'node:http'
import websocket from '@fastify/websocket'
import { Jar, openSocket, type RunningServer, send } from '@x/session-conformance-tests'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeUpgradeRecipeCases } from '../../conformance-tests/test/support/node-upgrade-recipe.js'
import { findSession, getSession } from '../src/context.js'
import {
  type FastifySessionOptions,
  memoryStore,
  type Session,
  SessionError,
  SessionErrorCode,
  type SessionOptions,
  session,
} from '../src/index.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'

type AnySession = Session<Record<string, unknown>>

const servers: RunningServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/**
 * Listens on 127.0.0.1; closing (once, however often it is asked) also ends open WebSockets, which
 * Fastify's close would wait for.
 */
async function serve(app: FastifyInstance): Promise<RunningServer> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  let closed: Promise<void> | undefined
  const running = {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      closed ??= (async () => {
        if (app.hasDecorator('websocketServer')) {
          for (const client of app.websocketServer.clients) client.terminate()
        }
        await app.close()
      })()
      return closed
    },
  }
  servers.push(running)
  return running
}

const ORIGIN = 'http://localhost:3000'

/** The README's WebSocket recipe, as written there (typed data aside). */
async function chatApp(options: Partial<FastifySessionOptions> = {}) {
  const app = Fastify()
  await app.register(websocket)
  await app.register(session, { secret, ...options })

  app.post('/login', async (request) => {
    await request.session.regenerate()
    data(request.session).user = 'ada'
    return { user: data(request.session).user }
  })
  app.post('/logout', async (request) => {
    await request.session.destroy()
    return { user: null }
  })
  app.get('/me', async (request) => ({
    user: data(request.session).user ?? null,
    theme: data(request.session).theme ?? null,
  }))

  app.get(
    '/ws',
    {
      websocket: true,
      preValidation: async (request, reply) => {
        if (request.session.isNew) return reply.code(401).send()
      },
    },
    (socket, request) => {
      const session = data(request.session)
      let queue = Promise.resolve()
      socket.on('message', (message) => {
        queue = queue.then(async () => {
          try {
            await session.reload()
            if (session.isNew) {
              socket.send(JSON.stringify({ user: null }))
              return socket.close(4401, 'logged out')
            }
            session.theme = String(message)
            await session.save()
            socket.send(JSON.stringify({ user: session.user, theme: session.theme }))
          } catch (error) {
            socket.send(JSON.stringify({ error: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' }))
          }
        })
      })
    },
  )
  return serve(app)
}

/** The session with the README's data shape, which this test file does not declare globally. */
const data = (s: unknown) => s as Session<{ user?: string; theme?: string }>

describe('WebSockets (@fastify/websocket)', () => {
  nodeUpgradeRecipeCases({
    origin: ORIGIN,
    start: (options) => chatApp({ store: memoryStore(), allowedOrigins: [ORIGIN], ...options }),
  })

  it("the upgrade passes through the plugin's hooks: request.session and getSession() are the socket's session", async () => {
    const app = Fastify()
    await app.register(websocket)
    await app.register(session, { secret, store: memoryStore() })
    app.post('/login', async (request) => {
      ;(request.session as AnySession).user = 'ada'
      return { ok: true }
    })
    app.get('/ws', { websocket: true }, (socket, request) => {
      const found = findSession()
      socket.on('message', () => {
        socket.send(
          JSON.stringify({ same: found === request.session, user: (request.session as AnySession).user }),
        )
      })
    })
    const server = await serve(app)
    const jar = new Jar().apply(await send(`${server.url}/login`, { method: 'POST' }))
    const socket = await openSocket(`${server.url}/ws`, { cookie: jar.header() })
    try {
      expect(JSON.parse(await socket.ask('?'))).toEqual({ same: true, user: 'ada' })
    } finally {
      await socket.close()
    }
  })
})

describe('getSession() from @x/session-fastify/context', () => {
  /** An app whose hooks, handlers and error handler each record what getSession() finds there. */
  async function probeApp() {
    const seen: Record<string, boolean> = {}
    const app = Fastify()
    await app.register(session, { secret })
    const check = (where: string, expected: unknown) => {
      seen[where] = findSession() !== undefined && findSession() === expected
    }
    let bodyStarted: (() => void) | undefined
    const started = new Promise<void>((resolve) => {
      bodyStarted = resolve
    })
    app.addHook('onRequest', async (request) => check('onRequest', request.session))
    app.addHook('preParsing', async (request) => {
      check('preParsing', request.session)
      bodyStarted?.()
    })
    app.addHook('preValidation', async (request) => check('preValidation', request.session))
    app.addHook('preHandler', async (request) => check('preHandler', request.session))
    app.addHook('onSend', async (request) => check('onSend', request.session))
    app.setErrorHandler((error, request, reply) => {
      check('errorHandler', request.session)
      return reply.code((error as { statusCode?: number }).statusCode ?? 500).send({ failed: true })
    })
    app.setNotFoundHandler((request, reply) => {
      check('notFound', request.session)
      return reply.code(404).send({ missing: true })
    })
    app.post('/json', async (request) => {
      // Code far from the handler, as a service layer is.
      const found = await service()
      check('handler', request.session)
      return { same: found === request.session, body: request.body }
    })
    app.post('/throw', async () => {
      await service()
      throw new Error('boom')
    })
    return { server: await serve(app), seen, started }
  }

  async function service(): Promise<AnySession> {
    await new Promise((resolve) => setTimeout(resolve, 1))
    await new Promise((resolve) => setImmediate(resolve))
    return getSession<Record<string, unknown>>()
  }

  it('finds the session in every hook and the handler of a POST whose JSON body arrives after the hooks began', async () => {
    const { server, seen, started } = await probeApp()
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${server.url}/json`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false },
        (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => {
            body += chunk
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
      req.flushHeaders()
      // The body comes in on the socket's own events, after the session's hook has run.
      void started.then(() => req.end(JSON.stringify({ hello: 'world' })))
    })
    expect(reply.status).toBe(200)
    expect(JSON.parse(reply.body)).toEqual({ same: true, body: { hello: 'world' } })
    expect(seen).toEqual({
      onRequest: true,
      preParsing: true,
      preValidation: true,
      preHandler: true,
      handler: true,
      onSend: true,
    })
  })

  it('finds the session in the error handler, for an error thrown by the handler and for a body that fails to parse', async () => {
    const { server, seen } = await probeApp()
    expect((await send(`${server.url}/throw`, { method: 'POST' })).status).toBe(500)
    expect(seen.errorHandler).toBe(true)
    delete seen.errorHandler
    expect((await send(`${server.url}/json`, { method: 'POST', body: '{"not json' })).status).toBe(400)
    expect(seen.errorHandler).toBe(true)
  })

  it('finds the session in the not-found handler', async () => {
    const { server, seen } = await probeApp()
    expect((await send(`${server.url}/nowhere`, { method: 'POST', body: '{}' })).status).toBe(404)
    expect(seen.notFound).toBe(true)
  })

  it('finds the session after a custom async content-type parser', async () => {
    const app = Fastify()
    await app.register(session, { secret })
    app.addContentTypeParser(
      'text/x-shout',
      { parseAs: 'string' },
      async (_request: FastifyRequest, body: string | Buffer) => {
        await new Promise((resolve) => setImmediate(resolve))
        return String(body).toUpperCase()
      },
    )
    app.post('/', async (request) => ({ same: getSession() === request.session, body: request.body }))
    const response = await app.inject({
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'text/x-shout' },
      payload: 'hi',
    })
    expect(response.json()).toEqual({ same: true, body: 'HI' })
  })

  it('is the live session: a write through it is committed', async () => {
    const app = Fastify()
    await app.register(session, { secret })
    app.post('/', async () => {
      ;(await service()).user = 'ada'
      return { ok: true }
    })
    app.get('/', async (request) => ({ ...(request.session as AnySession).toJSON() }))
    const server = await serve(app)
    const written = await send(server.url, { method: 'POST', body: '{}' })
    expect(written.setCookie).toHaveLength(1)
    expect((await send(server.url, { cookie: new Jar().apply(written).header() })).json()).toEqual({
      user: 'ada',
    })
  })

  it('picks a session by cookie name when two are registered', async () => {
    const app = Fastify()
    await app.register(session, { secret })
    await app.register(session, { secret, cookie: { name: 'admin' }, property: 'admin' })
    app.get('/', async (request) => {
      const admin = (request as unknown as { admin: AnySession }).admin
      return {
        first: getSession() === request.session,
        byName: getSession('admin') === admin,
        missing: findSession('nope') === undefined,
      }
    })
    expect((await app.inject({ url: '/' })).json()).toEqual({ first: true, byName: true, missing: true })
  })

  it('outside a request, getSession() throws ERR_SESSION_NO_CONTEXT and findSession() is undefined', async () => {
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

  async function tokenApp(tokenHeader: SessionOptions['tokenHeader']) {
    const app = Fastify()
    await app.register(session, { secret, tokenHeader })
    app.post('/login', async (request) => {
      ;(request.session as AnySession).user = 'ada'
      return { ok: true }
    })
    app.post('/logout', async (request) => {
      await request.session.destroy()
      return { ok: true }
    })
    app.get('/me', async (request) => ({
      isNew: request.session.isNew,
      ...(request.session as AnySession).toJSON(),
    }))
    return app
  }

  it('a first request with an empty header gets its token in the header, never a cookie, and sends it back', async () => {
    const app = await tokenApp('X-Session-Token')
    const login = await app.inject({ method: 'POST', url: '/login', headers: { [TOKEN]: '' } })
    const token = login.headers[TOKEN]
    expect(token).toMatch(/^Fe26\.2\*/)
    expect(login.headers['set-cookie']).toBeUndefined()
    expect(login.headers['cache-control']).toMatch(/private|no-store/)

    const me = await app.inject({ url: '/me', headers: { [TOKEN]: String(token) } })
    expect(me.json()).toEqual({ isNew: false, user: 'ada' })
    expect(me.headers[TOKEN]).toBeUndefined()

    const logout = await app.inject({ method: 'POST', url: '/logout', headers: { [TOKEN]: String(token) } })
    // An empty value tells the client to drop its token.
    expect(logout.headers[TOKEN]).toBe('')
    expect(logout.headers['set-cookie']).toBeUndefined()
  })

  it('a request without the header still uses the cookie, unless `cookie: false`', async () => {
    const both = await tokenApp('X-Session-Token')
    const login = await both.inject({ method: 'POST', url: '/login' })
    expect(login.headers[TOKEN]).toBeUndefined()
    const raw = login.headers['set-cookie'] ?? []
    const cookie = new Jar().apply({ setCookie: Array.isArray(raw) ? raw : [raw] }).header()
    expect((await both.inject({ url: '/me', headers: { cookie } })).json()).toEqual({
      isNew: false,
      user: 'ada',
    })

    const headerOnly = await tokenApp({ name: 'X-Session-Token', cookie: false })
    const answered = await headerOnly.inject({ method: 'POST', url: '/login', headers: { cookie } })
    expect(answered.headers['set-cookie']).toBeUndefined()
    expect(answered.headers[TOKEN]).toMatch(/^Fe26\.2\*/)
    expect((await headerOnly.inject({ url: '/me', headers: { cookie } })).json()).toEqual({ isNew: true })
  })
})
