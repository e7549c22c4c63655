import { once } from 'node:events'
import { Jar, send } from '@x/session-conformance-tests'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type FastifySessionOptions,
  memoryStore,
  type Session,
  SessionError,
  type SessionEvent,
  session,
} from '../src/index.js'

/**
 * A reply hijacked or written on `reply.raw` (what Nest's `@Sse()` does on Fastify) never reaches
 * onSend, where the session commits: a change the client can no longer get must not vanish
 * without a word. After the head is out a change throws; one made before is reported.
 */

const secret = 'a-test-secret-that-is-long-enough-0123456789'

type Loose = Session<Record<string, unknown>>
const sessionOf = (request: FastifyRequest) => request.session as unknown as Loose

const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown

/** What a change tried after the head threw, per request (a code, or 'ok' when it went through). */
type Outcome = string

async function serve(routes: Record<string, Handler>, options: Partial<FastifySessionOptions> = {}) {
  const events: SessionEvent[] = []
  const app = Fastify()
  apps.push(app)
  await app.register(session, { secret, onEvent: (event) => events.push(event), ...options })
  for (const [url, handler] of Object.entries(routes)) app.route({ method: ['GET', 'POST'], url, handler })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, events, app }
}

/** Runs `change` and says how it went: 'ok', or the SessionError's code. */
function attempt(change: () => unknown): Outcome {
  try {
    change()
    return 'ok'
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
}

/** Every way a Fastify reply leaves onSend out, each writing "done" as its body. */
const rawWays: [string, (reply: FastifyReply, after: () => void) => void][] = [
  [
    'reply.raw.writeHead, then write and end (Nest @Sse)',
    (reply, after) => {
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' })
      reply.raw.write('data: 1\n\n')
      after()
      reply.raw.end('done')
    },
  ],
  [
    'reply.raw.end alone',
    (reply, after) => {
      reply.raw.end('done')
      after()
    },
  ],
  [
    'reply.raw.write alone',
    (reply, after) => {
      reply.raw.write('do')
      after()
      reply.raw.end('ne')
    },
  ],
  [
    'reply.hijack(), then reply.raw',
    (reply, after) => {
      reply.hijack()
      after()
      reply.raw.writeHead(200)
      reply.raw.end('done')
    },
  ],
]

describe('replies that leave onSend out', () => {
  for (const [name, respond] of rawWays) {
    it(`${name}: a change afterwards throws ERR_SESSION_RESPONSE_SENT, and the data stays as it was`, async () => {
      const outcomes: Outcome[] = []
      const { url } = await serve({
        '/login': (request) => {
          sessionOf(request).user = 'ada'
          return { ok: true }
        },
        '/raw': (request, reply) => {
          respond(reply, () => {
            outcomes.push(attempt(() => (sessionOf(request).user = 'mallory')))
            outcomes.push(attempt(() => sessionOf(request).set('role', 'admin')))
            outcomes.push(attempt(() => sessionOf(request).flash('info', 'hi')))
            outcomes.push(attempt(() => sessionOf(request).bindUser('ada')))
          })
          return reply
        },
        '/me': (request) => ({
          user: sessionOf(request).user ?? null,
          role: sessionOf(request).role ?? null,
        }),
      })
      const jar = new Jar()
      jar.apply(await send(`${url}/login`, { method: 'POST' }))
      const raw = await send(`${url}/raw`, { headers: jar.requestHeaders() })
      expect(raw.body).toBe(name.startsWith('reply.raw.writeHead') ? 'data: 1\n\ndone' : 'done')
      expect(raw.setCookie).toEqual([])
      expect(outcomes).toEqual(Array(4).fill('ERR_SESSION_RESPONSE_SENT'))
      expect((await send(`${url}/me`, { headers: jar.requestHeaders() })).json()).toEqual({
        user: 'ada',
        role: null,
      })
    })
  }

  it('regenerate() and a cookie-store destroy() afterwards are refused too', async () => {
    const refused: string[] = []
    const code = (error: unknown) => (SessionError.is(error) ? error.code : 'not a SessionError')
    const { url } = await serve({
      '/raw': async (request, reply) => {
        reply.raw.end('done')
        await sessionOf(request)
          .regenerate()
          .catch((error) => refused.push(code(error)))
        await sessionOf(request)
          .destroy()
          .catch((error) => refused.push(code(error)))
        return reply
      },
    })
    await send(`${url}/raw`)
    await expect.poll(() => refused).toEqual(['ERR_SESSION_RESPONSE_SENT', 'ERR_SESSION_RESPONSE_SENT'])
  })

  it('reading the session afterwards is fine', async () => {
    const seen: unknown[] = []
    const { url } = await serve({
      '/login': (request) => {
        sessionOf(request).user = 'ada'
        return {}
      },
      '/raw': (request, reply) => {
        reply.raw.end('done')
        seen.push(sessionOf(request).user, sessionOf(request).get('user'), sessionOf(request).has('user'))
        return reply
      },
    })
    const jar = new Jar().apply(await send(`${url}/login`))
    await send(`${url}/raw`, { headers: jar.requestHeaders() })
    expect(seen).toEqual(['ada', 'ada', true])
  })

  it('a server-store session the request carried may still change after the head, and save() keeps it', async () => {
    const outcomes: Outcome[] = []
    const { url } = await serve(
      {
        '/login': (request) => {
          sessionOf(request).user = 'ada'
          return {}
        },
        '/raw': async (request, reply) => {
          reply.raw.writeHead(200)
          reply.raw.write('streaming')
          outcomes.push(attempt(() => (sessionOf(request).seen = 1)))
          await sessionOf(request).save()
          reply.raw.end()
          return reply
        },
        '/me': (request) => ({ seen: sessionOf(request).seen ?? null }),
      },
      { store: memoryStore() },
    )
    const jar = new Jar().apply(await send(`${url}/login`))
    await send(`${url}/raw`, { headers: jar.requestHeaders() })
    expect(outcomes).toEqual(['ok'])
    expect((await send(`${url}/me`, { headers: jar.requestHeaders() })).json()).toEqual({ seen: 1 })
  })

  it('a change made before a raw head, which the response never carried, is reported as an unsent event', async () => {
    const { url, events } = await serve({
      '/raw': (request, reply) => {
        sessionOf(request).user = 'ada'
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream' })
        reply.raw.end('data: 1\n\n')
        return reply
      },
    })
    const reply = await send(`${url}/raw`)
    expect(reply.setCookie).toEqual([])
    await expect
      .poll(() => events.filter((e) => e.type === 'unsent'))
      .toEqual([{ type: 'unsent', cookie: 'session' }])
  })

  it('a hijacked reply after a regenerate() reports it unsent, with a server store too (the new id never left)', async () => {
    const { url, events } = await serve(
      {
        '/raw': async (request, reply) => {
          await sessionOf(request).regenerate()
          sessionOf(request).user = 'ada'
          reply.hijack()
          reply.raw.end('done')
        },
      },
      { store: memoryStore() },
    )
    await send(`${url}/raw`)
    await expect.poll(() => events.map((e) => e.type)).toContain('unsent')
  })

  it('a server-store change before a raw head is kept, not reported: the cookie the client has names it', async () => {
    const { url, events } = await serve(
      {
        '/login': (request) => {
          sessionOf(request).user = 'ada'
          return {}
        },
        '/raw': (request, reply) => {
          sessionOf(request).seen = 1
          reply.raw.end('done')
          return reply
        },
        '/me': (request) => ({ seen: sessionOf(request).seen ?? null }),
      },
      { store: memoryStore() },
    )
    const jar = new Jar().apply(await send(`${url}/login`))
    await send(`${url}/raw`, { headers: jar.requestHeaders() })
    await expect
      .poll(async () => (await send(`${url}/me`, { headers: jar.requestHeaders() })).json())
      .toEqual({
        seen: 1,
      })
    expect(events.filter((e) => e.type === 'unsent')).toEqual([])
  })

  it('a request that changed nothing reports nothing, and an ordinary reply is not late-committed', async () => {
    const { url, events, app } = await serve({
      '/raw': (_request, reply) => {
        reply.raw.end('done')
        return reply
      },
      '/ok': (request) => {
        sessionOf(request).user = 'ada'
        return {}
      },
    })
    await send(`${url}/raw`)
    const ok = await send(`${url}/ok`)
    expect(ok.setCookie).toHaveLength(1)
    // Both responses are over once their sockets close; the server's close waits for that.
    await app.close()
    expect(events).toEqual([])
  })

  it('a change after an ordinary reply was sent throws instead of being lost', async () => {
    const outcomes: Outcome[] = []
    const { url } = await serve({
      '/late': (request, reply) => {
        reply.send({ ok: true })
        once(reply.raw, 'finish').then(() => outcomes.push(attempt(() => (sessionOf(request).user = 'x'))))
        return reply
      },
    })
    expect((await send(`${url}/late`)).json()).toEqual({ ok: true })
    await expect.poll(() => outcomes).toEqual(['ERR_SESSION_RESPONSE_SENT'])
  })
})
