import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseSetCookie } from '@x/session-conformance-tests'
import {
  createWebSession,
  findSession,
  getSession,
  memoryStore,
  SessionError,
  SessionErrorCode,
  type SessionOptions,
  type SessionStore,
  withSession,
} from '@x/session-web'
import { findSession as currentSession } from '@x/session-web/context'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const secret = 'a-test-secret-that-is-long-enough-0123456789'
const ORIGIN = 'http://app.test'

interface Data {
  user?: string
  n?: number
  big?: unknown
}

const session = (request: Request) => getSession<Data>(request)

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

function request(path: string, cookie?: string, init: RequestInit = {}): Request {
  const headers = new Headers(init.headers)
  if (cookie !== undefined) headers.set('cookie', cookie)
  return new Request(new URL(path, ORIGIN), { ...init, headers })
}

/** The session cookies a response sets. */
function sessionCookies(response: Response, name = 'session'): string[] {
  return response.headers.getSetCookie().filter((h) => parseSetCookie(h).name === name)
}

/** The `name=value` pair to send back. */
function cookieOf(response: Response, name = 'session'): string {
  const [header] = sessionCookies(response, name)
  if (header === undefined) throw new Error(`no ${name} cookie`)
  return header.split(';', 1)[0] as string
}

const login = (request: Request) => {
  session(request).user = 'ada'
  return new Response('ok')
}
const who = (request: Request) =>
  Response.json({ user: session(request).user ?? null, n: session(request).n ?? null })

describe('withSession(): responses', () => {
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

    it('E6: Response.redirect() (immutable headers) gets the session cookie, status and Location kept', async () => {
      const handler = withSession(
        (request) => {
          session(request).user = 'ada'
          return Response.redirect(new URL('/who', request.url), 303)
        },
        { secret },
      )
      const response = await handler(request('/login'))
      expect(response.status).toBe(303)
      expect(response.headers.get('location')).toBe(`${ORIGIN}/who`)
      expect(sessionCookies(response)).toHaveLength(1)
      expect(response.headers.get('cache-control')).toMatch(/private|no-store/)
    })

    it("E5: a proxied fetch() response keeps its own Set-Cookie and gets the session's, its body streamed through unread", async () => {
      let upstreamBody: ReadableStream | null = null
      const handler = withSession(
        async (request) => {
          session(request).user = 'ada'
          const proxied = await fetch(upstreamUrl)
          upstreamBody = proxied.body
          return proxied
        },
        { secret },
      )
      const response = await handler(request('/proxy'))
      // The same stream, not a buffered copy of it: a large or endless body passes through as it comes.
      expect(upstreamBody).not.toBeNull()
      expect(response.body).toBe(upstreamBody)
      expect(
        response.headers
          .getSetCookie()
          .map((h) => parseSetCookie(h).name)
          .sort(),
      ).toEqual(['session', 'up'])
      expect(await response.text()).toBe('from upstream')
    })
  })

  it('E5: a mutable response is changed in place, its own Set-Cookie kept before the session one', async () => {
    const original = new Response('hi', { status: 201, headers: { 'set-cookie': 'app=1; Path=/' } })
    const handler = withSession(
      (request) => {
        session(request).user = 'ada'
        return original
      },
      { secret },
    )
    const response = await handler(request('/'))
    expect(response).toBe(original)
    expect(response.headers.getSetCookie().map((h) => parseSetCookie(h).name)).toEqual(['app', 'session'])
  })

  it("E10: an app Cache-Control: public on a response that sets the cookie becomes private, the app's max-age kept", async () => {
    const handler = withSession(
      (request) => {
        session(request).user = 'ada'
        return new Response('ok', { headers: { 'cache-control': 'public, max-age=60' } })
      },
      { secret },
    )
    const cacheControl = (await handler(request('/'))).headers.get('cache-control') ?? ''
    expect(cacheControl).toMatch(/private|no-store/)
    expect(cacheControl).not.toMatch(/public/)
    expect(cacheControl).toMatch(/max-age=60/)
  })

  it('E1: a request that never reads the session sends nothing, even with a cookie', async () => {
    const handler = withSession(
      (r: Request) => (new URL(r.url).pathname === '/login' ? login(r) : new Response('noop')),
      {
        secret,
      },
    )
    const cookie = cookieOf(await handler(request('/login')))
    const response = await handler(request('/noop', cookie))
    expect(response.headers.getSetCookie()).toEqual([])
    expect(response.headers.has('cache-control')).toBe(false)
  })

  it("E9: 'auto' secure follows the request URL's scheme", async () => {
    const handler = withSession(login, { secret })
    const over = async (url: string) => (await handler(new Request(url))).headers.getSetCookie()[0] ?? ''
    expect(parseSetCookie(await over('https://example.test/')).attributes.get('secure')).toBe(true)
    expect(parseSetCookie(await over('http://example.test/')).attributes.has('secure')).toBe(false)
  })

  it('passes every argument and `this` through, as Bun (server as `this`), Deno and Workers call fetch', async () => {
    const seen: unknown[] = []
    const handler = withSession(
      function (this: unknown, _request: Request, env: { KEY: string }, ctx: { waitUntil(): void }) {
        seen.push(this, env, ctx)
        return new Response('ok')
      },
      { secret },
    )
    const server = { name: 'server' }
    const env = { KEY: 'k' }
    const ctx = { waitUntil() {} }
    await handler.call(server, request('/'), env, ctx)
    expect(seen[0]).toBe(server)
    expect(seen[1]).toBe(env)
    expect(seen[2]).toBe(ctx)
  })

  it('L1: a value written in one request is read in the next, through a server store too', async () => {
    const handler = withSession((r: Request) => (r.method === 'POST' ? login(r) : who(r)), {
      secret,
      store: memoryStore(),
    })
    const cookie = cookieOf(await handler(request('/', undefined, { method: 'POST' })))
    expect(await (await handler(request('/', cookie))).json()).toEqual({ user: 'ada', n: null })
  })
})

describe('withSession(): a handler that throws', () => {
  it('E6: without onError the change is saved, then the same error is rethrown', async () => {
    const handler = withSession(
      (r: Request) => {
        if (r.method === 'GET') return who(r)
        if (new URL(r.url).pathname === '/login') return login(r)
        session(r).n = 1
        throw new Error('boom')
      },
      { secret, store: memoryStore() },
    )
    const cookie = cookieOf(await handler(request('/login', undefined, { method: 'POST' })))
    const boom = new Error('boom')
    const failing = withSession(
      (r: Request) => {
        session(r).n = 1
        throw boom
      },
      { manager: createWebSession({ secret }).manager },
    )
    await expect(failing(request('/'))).rejects.toBe(boom)
    await expect(handler(request('/write', cookie, { method: 'POST' }))).rejects.toThrow('boom')
    // The store write happened before the error went on: the next request sees it.
    expect(await (await handler(request('/', cookie))).json()).toEqual({ user: 'ada', n: 1 })
  })

  it("E6: with onError, the error's response carries the cookie, and getSession() works in onError", async () => {
    const seen: boolean[] = []
    const handler = withSession(
      (r: Request) => {
        session(r).user = 'ada'
        throw new Error('boom')
      },
      {
        secret,
        onError: (error, r) => {
          seen.push(findSession(r) !== undefined, currentSession() === findSession(r))
          return new Response(String((error as Error).message), { status: 418 })
        },
      },
    )
    const response = await handler(request('/'))
    expect(response.status).toBe(418)
    expect(await response.text()).toBe('boom')
    expect(sessionCookies(response)).toHaveLength(1)
    expect(seen).toEqual([true, true])
  })

  it('an onError that throws: its error goes on, after the session is saved', async () => {
    const second = new Error('onError failed')
    const handler = withSession(
      (r: Request) => {
        if (r.method === 'GET') return who(r)
        if (new URL(r.url).pathname === '/login') return login(r)
        session(r).n = 5
        throw new Error('boom')
      },
      {
        secret,
        store: memoryStore(),
        onError: () => {
          throw second
        },
      },
    )
    const cookie = cookieOf(await handler(request('/login', undefined, { method: 'POST' })))
    await expect(handler(request('/write', cookie, { method: 'POST' }))).rejects.toBe(second)
    expect(await (await handler(request('/', cookie))).json()).toEqual({ user: 'ada', n: 5 })
  })
})

describe('withSession(): failures fail closed (S7)', () => {
  async function outage(onError?: (error: unknown) => Response) {
    const store = flakyStore()
    const handler = withSession((r: Request) => (r.method === 'POST' ? login(r) : who(r)), {
      secret,
      store,
      ...(onError ? { onError } : {}),
    })
    const cookie = cookieOf(await handler(request('/', undefined, { method: 'POST' })))
    store.down = true
    return handler(request('/', cookie))
  }

  it('S7: reading the session while the store is down is a 503, with or without onError, even one answering 500', async () => {
    const plain = await outage()
    expect(plain.status).toBe(503)
    expect(plain.headers.getSetCookie()).toEqual([])
    expect((await outage(() => new Response('oops', { status: 500 }))).status).toBe(503)
  })

  it("S7: an onError that answers with the error's status keeps its own body", async () => {
    const response = await outage((error) =>
      SessionError.is(error)
        ? new Response('maintenance', { status: 503 })
        : new Response('oops', { status: 500 }),
    )
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('maintenance')
  })

  it("S7: a store that fails on save turns the response into a 503 without the failed response's headers", async () => {
    const store = flakyStore()
    store.down = true
    const handler = withSession(
      (r: Request) => {
        session(r).n = 1
        return new Response('written', { headers: { 'set-cookie': 'app=1' } })
      },
      { secret, store },
    )
    const response = await handler(request('/'))
    expect(response.status).toBe(503)
    expect(await response.text()).not.toBe('written')
    expect(response.headers.getSetCookie()).toEqual([])
  })

  it.each([
    ['not serializable', { big: 1n }],
    ['too large for the cookie', { big: 'x'.repeat(20_000) }],
  ])(
    'a session that cannot be committed (%s) is a 500, never a success without the cookie',
    async (_name, data) => {
      const handler = withSession(
        (r: Request) => {
          Object.assign(session(r), data)
          return new Response('written')
        },
        { secret },
      )
      const response = await handler(request('/'))
      expect(response.status).toBe(500)
      expect(await response.text()).not.toBe('written')
      expect(response.headers.getSetCookie()).toEqual([])
    },
  )

  it('K1: a bad secret fails at withSession() time, not on the first request', () => {
    let error: unknown
    try {
      withSession(() => new Response(), { secret: 'too-short' })
    } catch (err) {
      error = err
    }
    expect(SessionError.is(error) && error.code).toBe(SessionErrorCode.INVALID_SECRET)
  })
})

describe('a handler that returns no response (Bun after server.upgrade())', () => {
  it("W2: resolves to nothing, and the socket's change to a server-store session is saved", async () => {
    const store = memoryStore()
    const options: SessionOptions = { secret, store }
    const manager = createWebSession(options).manager
    const http = withSession((r: Request) => (r.method === 'POST' ? login(r) : who(r)), { manager })
    const cookie = cookieOf(await http(request('/', undefined, { method: 'POST' })))
    const socket = withSession(
      (r: Request) => {
        session(r).n = 9
        return undefined
      },
      { manager },
    )
    const upgrade = request('/ws', cookie, { headers: { upgrade: 'websocket', connection: 'Upgrade' } })
    expect(await socket(upgrade)).toBeUndefined()
    expect(await (await http(request('/', cookie))).json()).toEqual({ user: 'ada', n: 9 })
  })
})

describe('getSession(request)', () => {
  it('L7: picks a session by cookie name among nested wrappers; the outermost is the default', async () => {
    const found: Record<string, unknown> = {}
    const handler = withSession(
      withSession(
        (r: Request) => {
          found.outer = getSession(r) === findSession(r, 'session')
          found.inner = findSession(r, 'prefs') !== undefined && findSession(r, 'prefs') !== getSession(r)
          found.missing = findSession(r, 'nope')
          getSession<{ theme?: string }>(r, 'prefs').theme = 'dark'
          return new Response('ok')
        },
        { secret, cookie: { name: 'prefs' } },
      ),
      { secret },
    )
    const response = await handler(request('/'))
    expect(found).toEqual({ outer: true, inner: true, missing: undefined })
    expect(response.headers.getSetCookie().map((h) => parseSetCookie(h).name)).toEqual(['prefs'])
  })

  it('finds the session of a Request that takes no property of its own (a frozen one)', async () => {
    const handler = withSession(login, { secret })
    const frozen = Object.freeze(request('/'))
    const response = await handler(frozen)
    expect(sessionCookies(response)).toHaveLength(1)
  })

  it('throws ERR_SESSION_NO_CONTEXT for a Request no session was loaded for (a copy of it included)', async () => {
    const codes: unknown[] = []
    const code = (fn: () => unknown) => {
      try {
        fn()
      } catch (error) {
        codes.push(SessionError.is(error) && error.code)
      }
    }
    const handler = withSession(
      (r: Request) => {
        code(() => getSession(new Request(r)))
        code(() => getSession(r, 'nope'))
        return new Response('ok')
      },
      { secret },
    )
    await handler(request('/'))
    code(() => getSession(request('/')))
    expect(codes).toEqual([
      SessionErrorCode.NO_CONTEXT,
      SessionErrorCode.NO_CONTEXT,
      SessionErrorCode.NO_CONTEXT,
    ])
    expect(findSession(request('/'))).toBeUndefined()
  })
})

describe('load() and commit(): the halves, for frameworks that own the handler', () => {
  it('load() gives the session (also getSession(request)); commit() returns the response with the cookie', async () => {
    const sessions = createWebSession<Data>({ secret })
    const req = request('/')
    const pending = await sessions.load(req)
    expect(getSession(req)).toBe(pending.session)
    pending.session.user = 'ada'
    const response = await pending.commit(new Response('page'))
    expect(sessionCookies(response)).toHaveLength(1)

    const next = await sessions.load(request('/', cookieOf(response)))
    expect(next.session.user).toBe('ada')
    expect((await next.commit(new Response('page'))).headers.getSetCookie()).toEqual([])
  })

  it('run() is the async context of getSession() from /context, after awaits and timers', async () => {
    const pending = await createWebSession({ secret }).load(request('/'))
    const found = await pending.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      await new Promise((resolve) => setImmediate(resolve))
      return currentSession()
    })
    expect(found).toBe(pending.session)
    expect(currentSession()).toBeUndefined()
  })

  it('commit() copies a response whose headers are immutable, and answers 503 when the save fails', async () => {
    const store = flakyStore()
    const sessions = createWebSession<Data>({ secret, store })
    const ok = await sessions.load(request('/'))
    ok.session.user = 'ada'
    const redirect = await ok.commit(Response.redirect(`${ORIGIN}/home`, 303))
    expect(redirect.status).toBe(303)
    expect(sessionCookies(redirect)).toHaveLength(1)

    const failing = await sessions.load(request('/'))
    failing.session.user = 'bob'
    store.down = true
    const response = await failing.commit(new Response('page'))
    expect(response.status).toBe(503)
    expect(response.headers.getSetCookie()).toEqual([])
  })
})
