import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createSessionManager,
  type FastifySessionOptions,
  memoryStore,
  type Session,
  type SessionData,
  SessionErrorCode,
  type SessionStore,
  session,
} from '../src/index.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'

/** The session without the project's SessionData typing: these tests write arbitrary keys. */
const sessionOf = (request: FastifyRequest) => request.session as unknown as Session<Record<string, unknown>>

/** A store that can be switched off, to see what an outage does to a request. */
function flakyStore(): SessionStore & { down: boolean } {
  const inner = memoryStore()
  const fail = () => Promise.reject(new Error('store down'))
  const store = {
    down: false,
    get: (id: string) => (store.down ? fail() : inner.get(id)),
    set: (...args: Parameters<SessionStore['set']>) => (store.down ? fail() : inner.set(...args)),
    delete: (id: string) => (store.down ? fail() : inner.delete(id)),
  }
  return store
}

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown

/** An app with the session plugin and one route per entry (GET and POST). */
async function build(
  routes: Record<string, Handler>,
  options: Partial<FastifySessionOptions> = {},
  more: FastifySessionOptions[] = [],
) {
  const app = Fastify({ trustProxy: true })
  apps.push(app)
  await app.register(session, { secret, ...options })
  for (const extra of more) await app.register(session, extra)
  for (const [url, handler] of Object.entries(routes)) app.route({ method: ['GET', 'POST'], url, handler })
  return app
}

const write = (request: FastifyRequest) => {
  sessionOf(request).set('userId', 'u1')
}

/** `handler`, after it wrote the session. */
const writing =
  (handler: Handler): Handler =>
  (request, reply) => {
    write(request)
    return handler(request, reply)
  }

function sessionCookies(headers: Record<string, unknown>, name = 'session'): string[] {
  const raw = headers['set-cookie']
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)]
  return all.filter((c) => c.startsWith(`${name}=`))
}

function cookieHeader(headers: Record<string, unknown>): string {
  return sessionCookies(headers)
    .map((c) => c.split(';', 1)[0])
    .join('; ')
}

describe('@x/session-fastify', () => {
  describe('commit on every kind of response', () => {
    const responses: [string, Handler, number][] = [
      ['an object', writing((_r, reply) => reply.send({ ok: true })), 200],
      ['a string', writing((_r, reply) => reply.send('ok')), 200],
      ['a Buffer', writing((_r, reply) => reply.send(Buffer.from('ok'))), 200],
      ['a returned value', writing(() => ({ ok: true })), 200],
      ['a stream', writing((_r, reply) => reply.send(Readable.from(['a', 'b']))), 200],
      ['a redirect', writing((_r, reply) => reply.redirect('/next')), 302],
      ['a 404', writing((_r, reply) => reply.code(404).send({ missing: true })), 404],
      [
        'a thrown error',
        writing(() => {
          throw new Error('boom')
        }),
        500,
      ],
      [
        'an error with a status',
        writing(() => {
          throw Object.assign(new Error('nope'), { statusCode: 403 })
        }),
        403,
      ],
    ]
    for (const [what, handler, status] of responses) {
      it(`E6: the cookie is on ${what} (${status}) and reads back`, async () => {
        const app = await build({
          '/': handler,
          '/me': (r) => ({ userId: sessionOf(r).get('userId') ?? null }),
        })
        const res = await app.inject({ method: 'POST', url: '/' })
        expect(res.statusCode).toBe(status)
        expect(sessionCookies(res.headers)).toHaveLength(1)
        expect(res.headers['cache-control']).toMatch(/private|no-store/)
        const me = await app.inject({ url: '/me', headers: { cookie: cookieHeader(res.headers) } })
        expect(me.json()).toEqual({ userId: 'u1' })
      })
    }

    it('E6: the cookie is on the response of a custom error handler', async () => {
      const app = Fastify()
      apps.push(app)
      await app.register(session, { secret })
      // Routes take the error handler in force where they are declared: set it first.
      app.setErrorHandler((_error, _request, reply) => reply.code(418).send({ handled: true }))
      app.post('/', (r) => {
        write(r)
        throw new Error('boom')
      })
      const res = await app.inject({ method: 'POST', url: '/' })
      expect(res.statusCode).toBe(418)
      expect(res.json()).toEqual({ handled: true })
      expect(sessionCookies(res.headers)).toHaveLength(1)
    })

    it('E1: a request that does not write the session gets no Set-Cookie and no Cache-Control', async () => {
      const app = await build({ '/': () => ({ ok: true }) })
      const res = await app.inject({ url: '/' })
      expect(res.headers['set-cookie']).toBeUndefined()
      expect(res.headers['cache-control']).toBeUndefined()
    })

    it('the session is there in hooks after the plugin and in the not-found handler', async () => {
      const app = await build({ '/': () => ({ ok: true }) })
      app.addHook('preHandler', async (request) => {
        sessionOf(request).set('seen', true)
      })
      app.setNotFoundHandler((request, reply) => {
        sessionOf(request).set('lost', true)
        return reply.code(404).send({ missing: true })
      })
      expect(sessionCookies((await app.inject({ url: '/' })).headers)).toHaveLength(1)
      const missing = await app.inject({ url: '/nowhere' })
      expect(missing.statusCode).toBe(404)
      expect(sessionCookies(missing.headers)).toHaveLength(1)
    })
  })

  describe("the app's own headers", () => {
    it('E5: Set-Cookie set with reply.header before the session writes is kept', async () => {
      const app = await build({
        '/': (r, reply) => {
          reply.header('set-cookie', 'app=1; Path=/')
          write(r)
          return { ok: true }
        },
      })
      const res = await app.inject({ url: '/' })
      expect(res.headers['set-cookie']).toEqual(['app=1; Path=/', expect.stringMatching(/^session=/)])
    })

    it('E5: Set-Cookie set on reply.raw is kept (Node would let Fastify replace it)', async () => {
      const app = await build({
        '/': (r, reply) => {
          reply.raw.setHeader('set-cookie', ['raw=1; Path=/', 'raw2=2'])
          write(r)
          return { ok: true }
        },
      })
      const res = await app.inject({ url: '/' })
      expect(res.headers['set-cookie']).toEqual([
        'raw=1; Path=/',
        'raw2=2',
        expect.stringMatching(/^session=/),
      ])
    })

    it('E5: Set-Cookie added by an onSend hook that runs after the session is kept', async () => {
      const app = await build({
        '/': writing(() => ({ ok: true })),
      })
      app.addHook('onSend', async (_request, reply) => {
        reply.header('set-cookie', 'late=1')
      })
      const res = await app.inject({ url: '/' })
      expect(res.headers['set-cookie']).toEqual([expect.stringMatching(/^session=/), 'late=1'])
    })

    it('E10: an app Cache-Control: public is made private when the cookie is sent', async () => {
      const app = await build({
        '/': (r, reply) => {
          reply.header('cache-control', 'public, max-age=60')
          write(r)
          return { ok: true }
        },
      })
      const res = await app.inject({ url: '/' })
      expect(res.headers['cache-control']).not.toMatch(/public/)
      expect(res.headers['cache-control']).toMatch(/private|no-store/)
      expect(res.headers['cache-control']).toMatch(/max-age=60/)
    })

    it('a later onSend hook that throws gets the cookie on its error response, once', async () => {
      const app = await build({
        '/': writing(() => ({ ok: true })),
      })
      let failed = false
      app.addHook('onSend', async () => {
        if (failed) return
        failed = true
        throw Object.assign(new Error('late failure'), { statusCode: 502 })
      })
      const res = await app.inject({ url: '/' })
      expect(res.statusCode).toBe(502)
      expect(sessionCookies(res.headers)).toHaveLength(1)
    })
  })

  describe('fail closed', () => {
    it('S7: a store down at commit answers 503 without a session cookie', async () => {
      const store = flakyStore()
      const app = await build(
        {
          '/': writing(() => ({ ok: true })),
        },
        { store },
      )
      store.down = true
      const res = await app.inject({ method: 'POST', url: '/' })
      expect(res.statusCode).toBe(503)
      expect(res.json().code).toBe(SessionErrorCode.STORE_UNAVAILABLE)
      expect(sessionCookies(res.headers)).toEqual([])
    })

    for (const [what, handler] of [
      ['a redirect', writing((_r, reply) => reply.redirect('/next'))],
      ['a 201', writing((_r, reply) => reply.code(201).send({ created: true }))],
      [
        'a thrown error',
        writing(() => {
          throw new Error('boom')
        }),
      ],
    ] as [string, Handler][]) {
      it(`S7: a failed commit turns ${what} into a 503`, async () => {
        const store = flakyStore()
        const app = await build({ '/': handler }, { store })
        store.down = true
        const res = await app.inject({ method: 'POST', url: '/' })
        expect(res.statusCode).toBe(503)
        expect(sessionCookies(res.headers)).toEqual([])
      })
    }

    it('S7: an error handler that keeps the status still turns a failed redirect into a 503', async () => {
      const store = flakyStore()
      const app = Fastify()
      apps.push(app)
      await app.register(session, { secret, store })
      app.setErrorHandler((error, _request, reply) =>
        reply.send({ failed: (error as { code?: string }).code }),
      )
      app.post(
        '/',
        writing((_r, reply) => reply.redirect('/next')),
      )
      store.down = true
      const res = await app.inject({ method: 'POST', url: '/' })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toEqual({ failed: SessionErrorCode.STORE_UNAVAILABLE })
    })

    it('S7: a handler reading the session while the store is down gets a 503', async () => {
      const store = flakyStore()
      const app = await build(
        {
          '/login': writing(() => ({ ok: true })),
          '/me': (r) => ({ userId: sessionOf(r).get('userId') }),
        },
        { store },
      )
      const login = await app.inject({ url: '/login' })
      store.down = true
      const me = await app.inject({ url: '/me', headers: { cookie: cookieHeader(login.headers) } })
      expect(me.statusCode).toBe(503)
      expect(me.json().code).toBe(SessionErrorCode.STORE_UNAVAILABLE)
    })

    it('C3: a session too large for its cookies is an error response, not a success without it', async () => {
      const app = await build({
        '/': (r) => {
          sessionOf(r).set('big', 'x'.repeat(20_000))
          return { ok: true }
        },
      })
      const res = await app.inject({ url: '/' })
      expect(res.statusCode).toBe(500)
      expect(res.json().code).toBe(SessionErrorCode.TOO_LARGE)
      expect(res.headers['set-cookie']).toBeUndefined()
    })

    it('a streamed body is released when the commit fails', async () => {
      const store = flakyStore()
      let body: Readable | undefined
      const app = await build(
        {
          '/': (r, reply) => {
            write(r)
            body = Readable.from(['a', 'b'])
            return reply.send(body)
          },
        },
        { store },
      )
      store.down = true
      const res = await app.inject({ url: '/' })
      expect(res.statusCode).toBe(503)
      expect(body?.destroyed).toBe(true)
    })
  })

  describe('configuration', () => {
    it('takes a manager built outside, so app code shares it', async () => {
      const manager = createSessionManager<SessionData>({ secret, cookie: { name: 'shared' } })
      const app = Fastify()
      apps.push(app)
      await app.register(session, { manager })
      app.get(
        '/',
        writing(() => ({ ok: true })),
      )
      const res = await app.inject({ url: '/' })
      expect(manager.cookieName).toBe('shared')
      expect(sessionCookies(res.headers, 'shared')).toHaveLength(1)
    })

    it('K1: a bad secret fails ready(), not the first request', async () => {
      const app = Fastify()
      apps.push(app)
      app.register(session, { secret: 'short' })
      await expect(app.ready()).rejects.toMatchObject({ code: SessionErrorCode.INVALID_SECRET })
    })

    it('two sessions cannot claim one property', async () => {
      const app = Fastify()
      apps.push(app)
      app.register(session, { secret })
      app.register(session, { secret, cookie: { name: 'admin' } })
      await expect(app.ready()).rejects.toMatchObject({ code: 'FST_ERR_DEC_ALREADY_PRESENT' })
    })

    it('L7: a second session on its own property keeps its own cookie', async () => {
      const app = await build(
        {
          '/': (request) => {
            const admin = (request as unknown as { admin: Session<Record<string, unknown>> }).admin
            admin.set('role', 'root')
            return { user: sessionOf(request).toJSON(), admin: admin.toJSON() }
          },
        },
        {},
        [{ secret, cookie: { name: 'admin' }, property: 'admin' }],
      )
      const res = await app.inject({ url: '/' })
      expect(res.json()).toEqual({ user: {}, admin: { role: 'root' } })
      expect(sessionCookies(res.headers)).toEqual([])
      expect(sessionCookies(res.headers, 'admin')).toHaveLength(1)
    })

    it("E9: secure: 'auto' follows request.protocol, so X-Forwarded-Proto counts only with trustProxy", async () => {
      const app = await build({
        '/': writing(() => ({ ok: true })),
      })
      const proxied = await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })
      expect(sessionCookies(proxied.headers)[0]).toMatch(/; Secure/)
      const plain = await app.inject({ url: '/' })
      expect(sessionCookies(plain.headers)[0]).not.toMatch(/; Secure/)

      const untrusting = Fastify()
      apps.push(untrusting)
      await untrusting.register(session, { secret })
      untrusting.get(
        '/',
        writing(() => ({ ok: true })),
      )
      const spoofed = await untrusting.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })
      expect(sessionCookies(spoofed.headers)[0]).not.toMatch(/; Secure/)
    })
  })
})
