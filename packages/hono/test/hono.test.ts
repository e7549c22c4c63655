import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Jar, parseSetCookie, type Reply, send } from '@x/session-conformance-tests'
import {
  type HonoSessionOptions,
  memoryStore,
  type SessionEnv,
  SessionError,
  SessionErrorCode,
  type SessionStore,
  session,
} from '@x/session-hono'
import { type Context, Hono } from 'hono'
import { stream } from 'hono/streaming'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { listen } from './harness.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'

interface Data {
  user?: string
  n?: number
  big?: unknown
}
type Env = SessionEnv<Data>
type Route = (c: Context<Env>) => Response | Promise<Response>

/** A store that can be switched off, to see what a store outage does to a request. */
function flakyStore(): SessionStore & { down: boolean } {
  const inner = memoryStore()
  const down = () => Promise.reject(new Error('store down'))
  const store = {
    down: false,
    get: (id: string) => (store.down ? down() : inner.get(id)),
    set: (...args: Parameters<SessionStore['set']>) => (store.down ? down() : inner.set(...args)),
    delete: (id: string) => (store.down ? down() : inner.delete(id)),
  }
  return store
}

function sessionCookies(reply: Pick<Reply, 'setCookie'>, name = 'session'): string[] {
  return reply.setCookie.filter((h) => parseSetCookie(h).name === name)
}

const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

/** Serves `routes` (GET and POST) behind `session(options)` over real HTTP; returns a request function. */
async function start(
  routes: Record<string, Route>,
  {
    options = {},
    configure,
  }: { options?: Partial<HonoSessionOptions>; configure?: (app: Hono<Env>) => void } = {},
) {
  const app = new Hono<Env>()
  configure?.(app)
  app.use(session<Data>({ secret, ...options }))
  for (const [path, route] of Object.entries(routes)) app.on(['GET', 'POST'], path, route)
  const server = await listen(app as unknown as Hono)
  servers.push(server)
  return (path: string, cookie?: string | readonly string[]) => send(server.url + path, { cookie })
}

/** Writes `user: 'ada'` and returns the client's jar. */
async function login(request: Awaited<ReturnType<typeof start>>): Promise<Jar> {
  const reply = await request('/login')
  expect(sessionCookies(reply)).toHaveLength(1)
  return new Jar().apply(reply)
}

const loginRoute: Route = (c) => {
  c.get('session').user = 'ada'
  return c.text('ok')
}
const whoRoute: Route = (c) => c.json({ user: c.get('session').user ?? null, isNew: c.get('session').isNew })

describe('response kinds (E6, E7)', () => {
  it.each([
    ['c.text', (c: Context<Env>) => c.text('hi', 201)],
    ['c.json', (c: Context<Env>) => c.json({ ok: true }, 422)],
    ['c.redirect', (c: Context<Env>) => c.redirect('/who', 303)],
    ['c.body(ReadableStream)', (c: Context<Env>) => c.body(new Blob(['a', 'b']).stream())],
  ])('E6: a session written before %s is committed on that response', async (_name, respond) => {
    const request = await start({
      '/login': (c) => {
        c.get('session').user = 'ada'
        return respond(c)
      },
      '/who': whoRoute,
    })
    const reply = await request('/login')
    expect(sessionCookies(reply)).toHaveLength(1)
    expect((await request('/who', new Jar().apply(reply).header())).json()).toEqual({
      user: 'ada',
      isNew: false,
    })
  })

  it('E7: a change made before the first byte of a hono/streaming stream() is committed with the headers', async () => {
    const request = await start({
      '/stream': (c) =>
        stream(c, async (s) => {
          c.get('session').user = 'streamer'
          await s.write('first;')
          await s.sleep(5)
          await s.write('second')
        }),
      '/who': whoRoute,
    })
    const reply = await request('/stream')
    expect(reply.body).toBe('first;second')
    expect(sessionCookies(reply)).toHaveLength(1)
    expect((await request('/who', new Jar().apply(reply).header())).json().user).toBe('streamer')
  })

  describe('responses with immutable headers', () => {
    let upstream: ReturnType<typeof createServer>
    let upstreamUrl: string
    beforeAll(async () => {
      upstream = createServer((_req, res) => {
        res.setHeader('set-cookie', 'up=1; Path=/')
        res.end('from upstream')
      })
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
      upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`
    })
    afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())))

    it('E6: Response.redirect() (immutable headers) still gets the session cookie', async () => {
      const request = await start({
        '/login': (c) => {
          c.get('session').user = 'ada'
          return Response.redirect(new URL('/who', c.req.url), 302)
        },
      })
      const reply = await request('/login')
      expect(reply.status).toBe(302)
      expect(reply.headers.location).toMatch(/\/who$/)
      expect(sessionCookies(reply)).toHaveLength(1)
    })

    it("E5: a proxied fetch() response keeps its body and its own Set-Cookie, and gets the session's", async () => {
      const request = await start({
        '/proxy': async (c) => {
          c.get('session').user = 'ada'
          return fetch(upstreamUrl)
        },
      })
      const reply = await request('/proxy')
      expect(reply.body).toBe('from upstream')
      expect(reply.setCookie.map((h) => parseSetCookie(h).name).sort()).toEqual(['session', 'up'])
    })
  })

  it("E6: a handler that throws after writing the session gets the cookie on the app's onError response", async () => {
    const request = await start(
      {
        '/boom': (c) => {
          c.get('session').user = 'ada'
          throw new Error('boom')
        },
      },
      { configure: (app) => app.onError((_err, c) => c.text('teapot', 418)) },
    )
    const reply = await request('/boom')
    expect(reply.status).toBe(418)
    expect(reply.body).toBe('teapot')
    expect(sessionCookies(reply)).toHaveLength(1)
  })

  it('E10: an app Cache-Control: public on a response that sets the cookie becomes private', async () => {
    const request = await start({
      '/login': (c) => {
        c.get('session').user = 'ada'
        c.header('cache-control', 'public, max-age=60')
        return c.text('ok')
      },
    })
    const cacheControl = String((await request('/login')).headers['cache-control'])
    expect(cacheControl).toMatch(/private|no-store/)
    expect(cacheControl).not.toMatch(/public/)
  })
})

describe('failures fail closed (S7)', () => {
  it('S7: reading the session while the store is down is a 503, even when onError answers 500', async () => {
    const store = flakyStore()
    const request = await start(
      { '/login': loginRoute, '/who': whoRoute, '/noop': (c) => c.text('noop') },
      { options: { store }, configure: (app) => app.onError((_err, c) => c.text('oops', 500)) },
    )
    const jar = await login(request)
    store.down = true
    const reply = await request('/who', jar.header())
    expect(reply.status).toBe(503)
    expect(reply.setCookie).toEqual([])
    // A request that never touches the session is not failed by the store.
    expect((await request('/noop', jar.header())).status).toBe(200)
  })

  it("S7: an onError that already answers with the error's status keeps its own body", async () => {
    const store = flakyStore()
    const request = await start(
      { '/login': loginRoute, '/who': whoRoute },
      {
        options: { store },
        configure: (app) =>
          app.onError((err, c) => (SessionError.is(err) ? c.text('maintenance', 503) : c.text('oops', 500))),
      },
    )
    const jar = await login(request)
    store.down = true
    const reply = await request('/who', jar.header())
    expect(reply.status).toBe(503)
    expect(reply.body).toBe('maintenance')
  })

  it("S7: a store that fails on save turns the response into a 503 that keeps none of the failed response's headers", async () => {
    const store = flakyStore()
    const request = await start(
      {
        '/write': (c) => {
          c.get('session').n = 1
          c.header('set-cookie', 'app=1')
          return c.text('written')
        },
      },
      { options: { store } },
    )
    store.down = true
    const reply = await request('/write')
    expect(reply.status).toBe(503)
    expect(reply.body).not.toBe('written')
    expect(reply.setCookie).toEqual([])
  })

  it.each([
    ['not serializable', { big: 1n }],
    ['too large for the cookie', { big: 'x'.repeat(20_000) }],
  ])(
    'a session that cannot be committed (%s) is an error response, never a success without the cookie',
    async (_name, data) => {
      const request = await start({
        '/write': (c) => {
          Object.assign(c.get('session'), data)
          return c.text('written')
        },
      })
      const reply = await request('/write')
      expect(reply.status).toBe(500)
      expect(reply.body).not.toBe('written')
      expect(reply.setCookie).toEqual([])
    },
  )
})

describe('request input', () => {
  it("E9: 'auto' secure follows the request URL's scheme", async () => {
    const app = new Hono<Env>()
    app.use(session<Data>({ secret }))
    app.get('/login', loginRoute)
    const over = async (origin: string) =>
      (await app.request(`${origin}/login`)).headers.getSetCookie()[0] ?? ''
    expect(parseSetCookie(await over('https://example.test')).attributes.get('secure')).toBe(true)
    expect(parseSetCookie(await over('http://example.test')).attributes.has('secure')).toBe(false)
  })

  it('C6: with trustProxy, the first X-Forwarded-Proto value decides; without it, the header is ignored', async () => {
    const over = async (trustProxy: boolean | undefined, origin: string, forwarded?: string) => {
      const app = new Hono<Env>()
      app.use(session<Data>({ secret, ...(trustProxy === undefined ? {} : { trustProxy }) }))
      app.get('/login', loginRoute)
      const headers = forwarded === undefined ? undefined : { 'X-Forwarded-Proto': forwarded }
      const reply = await app.request(`${origin}/login`, { headers })
      return parseSetCookie(reply.headers.getSetCookie()[0] ?? '').attributes.has('secure')
    }
    expect(await over(true, 'http://example.test', 'https')).toBe(true)
    expect(await over(true, 'http://example.test', 'HTTPS, http')).toBe(true)
    expect(await over(true, 'http://example.test', 'http, https')).toBe(false)
    expect(await over(true, 'https://example.test', 'http')).toBe(false)
    expect(await over(true, 'https://example.test')).toBe(true)
    expect(await over(true, 'http://example.test')).toBe(false)
    expect(await over(undefined, 'http://example.test', 'https')).toBe(false)
    expect(await over(false, 'http://example.test', 'https')).toBe(false)
  })

  it('T9: split Cookie header lines are all read (@hono/node-server joins them with "; ")', async () => {
    const request = await start({ '/login': loginRoute, '/who': whoRoute })
    const jar = await login(request)
    const reply = await request('/who', ['theme=dark; lang=en', jar.header(), 'late=1'])
    expect(reply.json()).toEqual({ user: 'ada', isNew: false })
  })

  it('T9: a session token hidden after a comma inside another cookie value is not read as the session', async () => {
    const request = await start({ '/login': loginRoute, '/who': whoRoute })
    const jar = await login(request)
    // What a sibling subdomain could toss: a cookie whose value carries ", session=<its own token>".
    const reply = await request('/who', `tossed=x, ${jar.header()}`)
    expect(reply.json()).toEqual({ user: null, isNew: true })
  })

  it('K1: a bad secret fails at session() time, not on the first request', () => {
    let error: unknown
    try {
      session({ secret: 'too-short' })
    } catch (err) {
      error = err
    }
    expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.INVALID_SECRET)
  })
})

describe('exposure', () => {
  it('L7: `property` mounts a second, independent session under its own key', async () => {
    const app = new Hono<SessionEnv<Data> & SessionEnv<{ theme?: string }, 'prefs'>>()
    app.use(session<Data>({ secret }))
    app.use(session<{ theme?: string }, 'prefs'>({ secret, cookie: { name: 'prefs' }, property: 'prefs' }))
    app.get('/set', (c) => {
      c.get('prefs').theme = 'dark'
      return c.text('ok')
    })
    app.get('/read', (c) =>
      c.json({ user: c.get('session').user ?? null, theme: c.get('prefs').theme ?? null }),
    )
    const server = await listen(app as unknown as Hono)
    servers.push(server)
    const reply = await send(`${server.url}/set`)
    expect(reply.setCookie.map((h) => parseSetCookie(h).name)).toEqual(['prefs'])
    const read = await send(`${server.url}/read`, { cookie: new Jar().apply(reply).header() })
    expect(read.json()).toEqual({ user: null, theme: 'dark' })
  })

  it('E1: a request that never reads the session costs nothing and sends no cookie, even with one', async () => {
    const request = await start({ '/login': loginRoute, '/noop': (c) => c.text('noop') })
    const jar = await login(request)
    expect((await request('/noop', jar.header())).setCookie).toEqual([])
    expect((await request('/missing', jar.header())).status).toBe(404)
  })
})
