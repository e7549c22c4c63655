import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import type { Context, Middleware } from 'koa'
import Koa from 'koa'
import Koa2 from 'koa2'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type KoaSessionOptions,
  memoryStore,
  SessionError,
  SessionErrorCode,
  type SessionStore,
  session,
} from '../src/index.js'
import { type KoaClass, listen } from './harness.js'

const secret = 'a-test-secret-that-is-long-enough-0123456789'

type Route = (ctx: Context) => unknown

const versions: [string, KoaClass][] = [
  ['koa 3', Koa],
  ['koa 2', Koa2],
]

/** A store that can be switched off, to see what a store outage does to a request. */
function flakyStore(): SessionStore & { down: boolean } {
  const inner = memoryStore()
  const store = {
    down: false,
    get: (id: string) => (store.down ? Promise.reject(new Error('store down')) : inner.get(id)),
    set: (...args: Parameters<SessionStore['set']>) =>
      store.down ? Promise.reject(new Error('store down')) : inner.set(...args),
    delete: (id: string) => (store.down ? Promise.reject(new Error('store down')) : inner.delete(id)),
  }
  return store
}

/** The session cookies of a response, as a `Cookie` header for the next request. */
function jar(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';', 1)[0]!)
    .join('; ')
}

function sessionCookies(res: Response, name = 'session'): string[] {
  return res.headers.getSetCookie().filter((c) => c.startsWith(`${name}=`))
}

describe.each(versions)('%s', (_name, KoaClass) => {
  const servers: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  /** An app with `session(options)` mounted, `before` ahead of it, and `routes` by path. */
  async function start(
    routes: Record<string, Route>,
    {
      options = {},
      before = [],
      proxy = false,
      errors = [],
    }: {
      options?: Partial<KoaSessionOptions>
      before?: Middleware[]
      proxy?: boolean
      errors?: unknown[]
    } = {},
  ) {
    const app = new KoaClass()
    app.silent = true
    app.proxy = proxy
    app.on('error', (err: unknown) => errors.push(err))
    for (const mw of before) app.use(mw)
    app.use(session({ secret, ...options }))
    app.use(async (ctx) => {
      const route = routes[ctx.path]
      if (route) await route(ctx)
    })
    const server = await listen(app)
    servers.push(server)
    return (path: string, init: RequestInit = {}) => fetch(server.url + path, { redirect: 'manual', ...init })
  }

  const login: Route = (ctx) => {
    ctx.session.userId = 'u1'
    ctx.body = { ok: true }
  }
  const me: Route = (ctx) => {
    ctx.body = { userId: ctx.session.userId ?? null }
  }

  it('E1: a request that does not write the session gets no Set-Cookie', async () => {
    const get = await start({
      '/': (ctx) => {
        ctx.body = { seen: ctx.session.userId ?? null }
      },
    })
    const res = await get('/')
    expect(res.status).toBe(200)
    expect(res.headers.getSetCookie()).toEqual([])
  })

  it('L1: a value written in a json response is read in the next request', async () => {
    const get = await start({ '/login': login, '/me': me })
    const res = await get('/login')
    expect(sessionCookies(res)).toHaveLength(1)
    const next = await get('/me', { headers: { cookie: jar(res) } })
    expect(await next.json()).toEqual({ userId: 'u1' })
    expect(next.headers.getSetCookie()).toEqual([])
  })

  it('E6: a redirect carries the session cookie, and the store write is done before it (E8)', async () => {
    const get = await start(
      {
        '/login': (ctx) => {
          ctx.session.userId = 'u2'
          ctx.redirect('/me')
        },
        '/me': me,
      },
      { options: { store: memoryStore() } },
    )
    const res = await get('/login')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/me')
    expect(sessionCookies(res)).toHaveLength(1)
    expect(await (await get('/me', { headers: { cookie: jar(res) } })).json()).toEqual({ userId: 'u2' })
  })

  it('E7: a change made before a Readable body is committed with the headers', async () => {
    const get = await start({
      '/stream': (ctx) => {
        ctx.session.userId = 'u3'
        ctx.body = Readable.from(['first,', 'second'])
      },
      '/me': me,
    })
    const res = await get('/stream')
    expect(sessionCookies(res)).toHaveLength(1)
    expect(await res.text()).toBe('first,second')
    expect(await (await get('/me', { headers: { cookie: jar(res) } })).json()).toEqual({ userId: 'u3' })
  })

  it('E6: a handler that throws after changing the session still sends the cookie through Koa onerror', async () => {
    const get = await start({
      '/boom': (ctx) => {
        ctx.session.userId = 'u4'
        ctx.set('Cache-Control', 'public, max-age=60')
        throw new Error('boom')
      },
      '/me': me,
    })
    const res = await get('/boom')
    expect(res.status).toBe(500)
    expect(sessionCookies(res)).toHaveLength(1)
    // E10 on the error response too: what Koa sends is err.headers, made private.
    expect(res.headers.get('cache-control')).toMatch(/private|no-store/)
    expect(res.headers.get('cache-control')).not.toMatch(/public/)
    expect(await (await get('/me', { headers: { cookie: jar(res) } })).json()).toEqual({ userId: 'u4' })
  })

  it('E6: destroy() then throw clears the cookie on the error response', async () => {
    const get = await start({
      '/login': login,
      '/logout': async (ctx) => {
        await ctx.session.destroy()
        ctx.throw(400)
      },
    })
    const cookie = jar(await get('/login'))
    const res = await get('/logout', { headers: { cookie } })
    expect(res.status).toBe(400)
    const [clearing, ...rest] = sessionCookies(res)
    expect(rest).toEqual([])
    expect(clearing).toMatch(/^session=;/)
    expect(clearing).toMatch(/Max-Age=0/i)
  })

  it("E6: err.headers of the handler's error are kept and merged with the session cookie, whatever their case", async () => {
    const get = await start({
      '/deny': (ctx) => {
        ctx.session.userId = 'u5'
        ctx.throw(401, { headers: { 'WWW-Authenticate': 'Basic', 'set-cookie': 'app=1; Path=/' } })
      },
    })
    const res = await get('/deny')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Basic')
    expect(res.headers.getSetCookie().filter((c) => c.startsWith('app='))).toEqual(['app=1; Path=/'])
    expect(sessionCookies(res)).toHaveLength(1)
  })

  it('E6: an upstream error middleware that renders the error keeps the session cookie, once', async () => {
    const handler: Middleware = async (ctx, next) => {
      try {
        await next()
      } catch (err) {
        ctx.status = 418
        ctx.body = { error: (err as Error).message }
      }
    }
    const get = await start(
      {
        '/boom': (ctx) => {
          ctx.session.userId = 'u6'
          throw new Error('teapot')
        },
        '/me': me,
      },
      { before: [handler] },
    )
    const res = await get('/boom')
    expect(res.status).toBe(418)
    expect(await res.json()).toEqual({ error: 'teapot' })
    expect(sessionCookies(res)).toHaveLength(1)
    expect(await (await get('/me', { headers: { cookie: jar(res) } })).json()).toEqual({ userId: 'u6' })
  })

  it("E5: the app's own Set-Cookie headers are kept, set before or after the session write", async () => {
    const get = await start({
      '/cookies-first': (ctx) => {
        ctx.cookies.set('app', '1', { signed: false })
        ctx.session.userId = 'u7'
        ctx.body = 'ok'
      },
      '/set-after': (ctx) => {
        ctx.session.userId = 'u7'
        ctx.set('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/'])
        ctx.body = 'ok'
      },
    })
    const first = await get('/cookies-first')
    expect(first.headers.getSetCookie().filter((c) => c.startsWith('app=1'))).toHaveLength(1)
    expect(sessionCookies(first)).toHaveLength(1)
    const after = await get('/set-after')
    expect(after.headers.getSetCookie().filter((c) => !c.startsWith('session='))).toEqual([
      'a=1; Path=/',
      'b=2; Path=/',
    ])
    expect(sessionCookies(after)).toHaveLength(1)
  })

  it('E10: Cache-Control: public is made private when the cookie is set, and left alone otherwise', async () => {
    const get = await start({
      '/write': (ctx) => {
        ctx.set('Cache-Control', 'public, max-age=60')
        ctx.session.userId = 'u8'
        ctx.body = 'ok'
      },
      '/read': (ctx) => {
        ctx.set('Cache-Control', 'public, max-age=60')
        ctx.body = String(ctx.session.userId)
      },
    })
    const res = await get('/write')
    expect(res.headers.get('cache-control')).toMatch(/private|no-store/)
    expect(res.headers.get('cache-control')).not.toMatch(/public/)
    const read = await get('/read', { headers: { cookie: jar(res) } })
    expect(read.headers.get('cache-control')).toBe('public, max-age=60')
  })

  it('S7: a store that fails at commit gives 503 and no session cookie', async () => {
    const store = flakyStore()
    const get = await start({ '/login': login }, { options: { store } })
    store.down = true
    const res = await get('/login')
    expect(res.status).toBe(503)
    expect(sessionCookies(res)).toEqual([])
  })

  it('S7: reading the session while the store is down gives 503; not touching it does not', async () => {
    const store = flakyStore()
    const get = await start(
      {
        '/login': login,
        '/me': me,
        '/static': (ctx) => {
          ctx.body = 'ok'
        },
      },
      { options: { store } },
    )
    const cookie = jar(await get('/login'))
    store.down = true
    const res = await get('/me', { headers: { cookie } })
    expect(res.status).toBe(503)
    expect(res.headers.getSetCookie()).toEqual([])
    const untouched = await get('/static', { headers: { cookie } })
    expect(untouched.status).toBe(200)
    expect(untouched.headers.getSetCookie()).toEqual([])
    store.down = false
    expect(await (await get('/me', { headers: { cookie } })).json()).toEqual({ userId: 'u1' })
  })

  it("S7: when the handler threw and the commit failed too, the handler's error answers", async () => {
    const store = flakyStore()
    const errors: unknown[] = []
    const get = await start(
      {
        '/teapot': (ctx) => {
          ctx.session.userId = 'u9'
          store.down = true
          ctx.throw(418)
        },
      },
      { options: { store }, errors },
    )
    const res = await get('/teapot')
    expect(res.status).toBe(418)
    expect(sessionCookies(res)).toEqual([])
    // The commit's failure is not lost: it goes to Koa's 'error' event beside the handler's error.
    const codes = errors.map((e) => (SessionError.is(e) ? e.code : (e as { status?: number }).status))
    expect(codes).toEqual(expect.arrayContaining([SessionErrorCode.STORE_UNAVAILABLE, 418]))
  })

  it("secure: 'auto' follows ctx.secure, which trusts X-Forwarded-Proto only with app.proxy", async () => {
    const headers = { 'x-forwarded-proto': 'https' }
    const trusting = await start({ '/login': login }, { proxy: true })
    expect(sessionCookies(await trusting('/login', { headers }))[0]).toMatch(/;\s*Secure/i)
    const plain = await start({ '/login': login })
    expect(sessionCookies(await plain('/login', { headers }))[0]).not.toMatch(/;\s*Secure/i)
  })

  it('L7: two sessions under two properties and cookie names are independent', async () => {
    const app = new KoaClass()
    app.silent = true
    app.use(session({ secret, cookie: { name: 'user' } }))
    app.use(session({ secret, cookie: { name: 'admin' }, property: 'adminSession' }))
    app.use((ctx) => {
      if (ctx.path === '/admin') ctx.adminSession.userId = 'root'
      ctx.body = { user: ctx.session.userId ?? null, admin: ctx.adminSession.userId ?? null }
    })
    const server = await listen(app)
    servers.push(server)
    const res = await fetch(`${server.url}/admin`)
    expect(sessionCookies(res, 'admin')).toHaveLength(1)
    expect(sessionCookies(res, 'user')).toEqual([])
    const next = await fetch(server.url, { headers: { cookie: jar(res) } })
    expect(await next.json()).toEqual({ user: null, admin: 'root' })
  })

  it('T9: a session cookie in the second of two Cookie headers is read', async () => {
    const app = new KoaClass()
    app.use(session({ secret }))
    app.use((ctx) => {
      if (ctx.path === '/login') ctx.session.userId = 'u10'
      ctx.body = String(ctx.session.userId)
    })
    const server = await listen(app)
    servers.push(server)
    const cookie = jar(await fetch(`${server.url}/login`))
    const body = await new Promise<string>((resolve, reject) => {
      // Raw headers, so that two Cookie lines go out; Node then adds no Host of its own.
      const headers = ['host', new URL(server.url).host, 'cookie', 'other=1', 'cookie', cookie]
      const req = httpRequest(`${server.url}/`, { headers }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve(text))
      })
      req.on('error', reject)
      req.end()
    })
    expect(body).toBe('u10')
  })
})
