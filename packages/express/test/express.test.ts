import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { Jar, parseSetCookie, type Reply, send } from '@x/session-conformance-tests'
import express5, { type Express, type NextFunction, type Request, type Response } from 'express'
import express4 from 'express4'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ExpressSessionOptions,
  memoryStore,
  SessionError,
  SessionErrorCode,
  type SessionStore,
  session,
} from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'session-express-'))
const bigFile = join(dir, 'big.txt')
const BIG = 'x'.repeat(1024 * 1024)
writeFileSync(bigFile, BIG)

const sessionCookies = (reply: Reply) => reply.setCookie.filter((h) => parseSetCookie(h).name === 'session')
const cookieNames = (reply: Reply) => reply.setCookie.map((h) => parseSetCookie(h).name)

/** A store whose writes fail, as a store that went down between load and commit. */
function failingWrites(): SessionStore {
  const inner = memoryStore()
  return {
    get: (id) => inner.get(id),
    delete: (id) => inner.delete(id),
    set: async () => {
      throw new Error('store down (test)')
    },
  }
}

/** Routes that change the session and answer through every Express response path. */
function mountRoutes(app: Express): void {
  const mark = (req: Request) => {
    req.session.n = 1
  }
  app.get('/read', (req, res) => {
    res.json({ n: req.session.n ?? null })
  })
  app.post('/json', (req, res) => {
    mark(req)
    res.status(201).json({ ok: true })
  })
  app.post('/send', (req, res) => {
    mark(req)
    res.send('sent')
  })
  app.post('/redirect', (req, res) => {
    mark(req)
    res.redirect('/read')
  })
  app.post('/stream', (req, res) => {
    mark(req)
    res.write('first;')
    setImmediate(() => {
      res.write('second;')
      res.end('third')
    })
  })
  app.post('/write-head', (req, res) => {
    mark(req)
    res.writeHead(202, { 'Content-Type': 'text/plain' }).end('head')
  })
  app.post('/send-file', (req, res, next) => {
    mark(req)
    res.sendFile(bigFile, (err) => err && next(err))
  })
  app.post('/pipe', (req, res) => {
    mark(req)
    Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) yield BIG.slice(i * 16384, (i + 1) * 16384)
      })(),
    ).pipe(res)
  })
  app.post('/flush-headers', (req, res) => {
    mark(req)
    res.flushHeaders()
    res.end('flushed')
  })
  app.post('/custom-error', (req, _res, next) => {
    mark(req)
    next(Object.assign(new Error('handled'), { custom: true }))
  })
  app.post('/default-error', (req, _res, next) => {
    mark(req)
    next(Object.assign(new Error('conflict'), { status: 409 }))
  })
  app.post('/sync-throw', (req) => {
    mark(req)
    throw new Error('boom')
  })
  app.use((err: { custom?: boolean }, _req: Request, res: Response, next: NextFunction) => {
    if (!err.custom) return next(err)
    res.status(418).json({ handled: true })
  })
}

describe.each([
  ['express 5', express5],
  ['express 4', express4],
])('%s', (_name, express) => {
  const start = async (options: ExpressSessionOptions = {}, routes: (app: Express) => void = mountRoutes) => {
    const app = express()
    app.use(session({ secret: SECRET, ...options }))
    routes(app)
    return serve(app)
  }

  describe('the cookie reaches the client through every response path', () => {
    let served: Served
    beforeAll(async () => {
      served = await start()
    })
    afterAll(() => served.close())

    const cases: [path: string, status: number, body?: string][] = [
      ['/json', 201, '{"ok":true}'],
      ['/send', 200, 'sent'],
      ['/redirect', 302],
      ['/stream', 200, 'first;second;third'],
      ['/write-head', 202, 'head'],
      ['/send-file', 200, BIG],
      ['/pipe', 200, BIG],
      ['/flush-headers', 200, 'flushed'],
      ['/custom-error', 418, '{"handled":true}'],
      ['/default-error', 409],
      ['/sync-throw', 500],
    ]
    for (const [path, status, body] of cases) {
      it(`E6/E7: POST ${path} answers ${status} with the session cookie, which reads back`, async () => {
        const reply = await send(served.url + path, { method: 'POST' })
        expect(reply.status).toBe(status)
        if (body !== undefined) expect(reply.body).toBe(body)
        expect(sessionCookies(reply)).toHaveLength(1)
        const next = await send(`${served.url}/read`, { cookie: new Jar().apply(reply).header() })
        expect(next.json()).toEqual({ n: 1 })
      })
    }

    it('E1: a request that leaves the session alone gets no Set-Cookie', async () => {
      const reply = await send(`${served.url}/read`)
      expect(reply.json()).toEqual({ n: null })
      expect(reply.setCookie).toEqual([])
    })
  })

  describe('the app keeps its own headers', () => {
    let served: Served
    beforeAll(async () => {
      served = await start({}, (app) => {
        app.post('/cookie-before', (req, res) => {
          res.cookie('app', '1')
          req.session.n = 1
          res.json({})
        })
        app.post('/cookie-after', (req, res) => {
          req.session.n = 1
          res.cookie('app', '1')
          res.append('Set-Cookie', 'app2=2; Path=/')
          res.json({})
        })
        app.post('/head-object', (req, res) => {
          res.cookie('dropped', '1') // writeHead's own Set-Cookie replaces it, as in Node
          req.session.n = 1
          res.writeHead(200, { 'Set-Cookie': ['a=1', 'b=2'], 'Cache-Control': 'public, max-age=60' }).end()
        })
        app.post('/head-array', (req, res) => {
          req.session.n = 1
          res.writeHead(200, 'Fine', ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']).end()
        })
        app.post('/cache', (req, res) => {
          req.session.n = 1
          res.set('Cache-Control', 'public, max-age=60').json({})
        })
      })
    })
    afterAll(() => served.close())

    it('E5: res.cookie before the session write is kept', async () => {
      const reply = await send(`${served.url}/cookie-before`, { method: 'POST' })
      expect(cookieNames(reply).sort()).toEqual(['app', 'session'])
    })

    it('E5: res.cookie and res.append after the session write are kept', async () => {
      const reply = await send(`${served.url}/cookie-after`, { method: 'POST' })
      expect(cookieNames(reply).sort()).toEqual(['app', 'app2', 'session'])
    })

    it('E5/E10: Set-Cookie and Cache-Control passed to res.writeHead are kept, and made private', async () => {
      const reply = await send(`${served.url}/head-object`, { method: 'POST' })
      expect(cookieNames(reply).sort()).toEqual(['a', 'b', 'session'])
      expect(reply.headers['cache-control']).toBe('private, max-age=60')
    })

    it('E5: a flat header array with a status message passed to res.writeHead is kept', async () => {
      const reply = await send(`${served.url}/head-array`, { method: 'POST' })
      expect(cookieNames(reply).sort()).toEqual(['a', 'b', 'session'])
    })

    it('E10: an app Cache-Control: public is made private when the cookie is set', async () => {
      const reply = await send(`${served.url}/cache`, { method: 'POST' })
      expect(sessionCookies(reply)).toHaveLength(1)
      expect(reply.headers['cache-control']).toBe('private, max-age=60')
    })
  })

  describe('the head counts as sent from the first write, while its bytes wait for the commit', () => {
    let served: Served
    beforeAll(async () => {
      // A server store: the commit has to wait for it, so the response is held back.
      served = await start({ store: memoryStore() }, (app) => {
        app.post('/observe', (req, res) => {
          req.session.n = 1
          const before = res.headersSent
          const wrote = res.write('a')
          const after = res.headersSent
          res.status(500) // too late: the head already counts as sent with 200
          let code: unknown
          try {
            res.setHeader('X-Late', '1')
          } catch (error) {
            code = (error as { code?: unknown }).code
          }
          res.once('drain', () => res.end(JSON.stringify({ before, after, wrote, code })))
        })
        app.post('/late-error', (req, res, next) => {
          req.session.n = 1
          res.write('partial')
          next(new Error('mid-stream'))
        })
        app.post('/bad-status', (req, res) => {
          req.session.n = 1
          res.statusCode = 1000 // Node refuses it when the head is written, which is now after the commit
          res.end('never')
        })
      })
    })
    afterAll(() => served.close())

    it('headersSent turns true, late status and header changes fail as in Node, write returns false, drain follows', async () => {
      const reply = await send(`${served.url}/observe`, { method: 'POST' })
      expect(reply.status).toBe(200)
      expect(sessionCookies(reply)).toHaveLength(1)
      expect(reply.headers['x-late']).toBeUndefined()
      expect(reply.body.slice(0, 1)).toBe('a')
      expect(JSON.parse(reply.body.slice(1))).toEqual({
        before: false,
        after: true,
        wrote: false,
        code: 'ERR_HTTP_HEADERS_SENT',
      })
    })

    it("an error after the first write aborts the response, as Express's final handler does", async () => {
      await expect(send(`${served.url}/late-error`, { method: 'POST' })).rejects.toThrow()
    })

    it('a head Node refuses at replay becomes a plain 500, never a crash', async () => {
      const reply = await send(`${served.url}/bad-status`, { method: 'POST' })
      expect(reply.status).toBe(500)
      expect(reply.body).not.toContain('never')
    })
  })

  describe('when the commit need not wait (cookie store on node:crypto), the response goes out in the same tick', () => {
    let served: Served
    beforeAll(async () => {
      served = await start({}, (app) => {
        app.post('/observe', (req, res) => {
          req.session.n = 1
          const before = res.headersSent
          const wrote = res.write('a')
          const after = res.headersSent
          res.end(JSON.stringify({ before, after, wrote }))
        })
        app.post('/head', (req, res) => {
          req.session.n = 2
          res.writeHead(201, { 'Set-Cookie': 'app=1; Path=/', 'Cache-Control': 'public, max-age=60' })
          res.end('made')
        })
        app.post('/bad-status', (req, res) => {
          req.session.n = 1
          res.statusCode = 1000
          res.end('never')
        })
      })
    })
    afterAll(() => served.close())

    it("E7: write() is Node's own (it returns true), and the cookie went out with the head", async () => {
      const reply = await send(`${served.url}/observe`, { method: 'POST' })
      expect(reply.status).toBe(200)
      expect(sessionCookies(reply)).toHaveLength(1)
      expect(JSON.parse(reply.body.slice(1))).toEqual({ before: false, after: true, wrote: true })
    })

    it('E5, E10: headers passed to writeHead keep the session cookie and lose a public Cache-Control', async () => {
      const reply = await send(`${served.url}/head`, { method: 'POST' })
      expect(reply.status).toBe(201)
      expect(cookieNames(reply).sort()).toEqual(['app', 'session'])
      expect(reply.headers['cache-control']).toBe('private, max-age=60')
    })

    it('a status Node refuses is thrown to the app as without a session: an error response, never the body', async () => {
      const reply = await send(`${served.url}/bad-status`, { method: 'POST' })
      expect(reply.status).toBe(500)
      expect(reply.body).not.toContain('never')
    })
  })

  describe('fail closed', () => {
    it('S7: a store that fails at commit turns the response into a plain 503 without the app headers', async () => {
      const served = await start({ store: failingWrites() }, (app) => {
        app.post('/json', (req, res) => {
          req.session.n = 1
          res.set('X-App', '1').cookie('app', '1').json({ ok: true })
        })
        app.post('/stream', (req, res) => {
          req.session.n = 1
          res.write('first;')
          setImmediate(() => res.end('rest'))
        })
      })
      try {
        for (const path of ['/json', '/stream']) {
          const reply = await send(served.url + path, { method: 'POST' })
          expect(reply.status).toBe(503)
          expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8')
          expect(reply.headers['x-app']).toBeUndefined()
          expect(reply.setCookie).toEqual([])
          expect(reply.body).toBe('Service Unavailable\n')
        }
      } finally {
        await served.close()
      }
    })

    it('S7: write callbacks of a response that never went out are called with the error', async () => {
      let written!: (error: unknown) => void
      const callback = new Promise<unknown>((resolve) => {
        written = resolve
      })
      const served = await start({ store: failingWrites() }, (app) => {
        app.post('/', (req, res) => {
          req.session.n = 1
          res.write('first;', written)
          res.end()
        })
      })
      try {
        expect((await send(`${served.url}/`, { method: 'POST' })).status).toBe(503)
        expect(SessionError.is(await callback)).toBe(true)
      } finally {
        await served.close()
      }
    })

    it('S7: reading the session while the store is down is a 503 through Express error handling', async () => {
      const inner = memoryStore()
      let down = false
      const store: SessionStore = {
        get: (id) => (down ? Promise.reject(new Error('down')) : inner.get(id)),
        set: (id, s, o) => inner.set(id, s, o),
        delete: (id) => inner.delete(id),
      }
      const served = await start({ store }, (app) => {
        app.post('/login', (req, res) => {
          req.session.user = 'ada'
          res.json({})
        })
        app.get('/me', (req, res) => {
          res.json({ user: req.session.user })
        })
      })
      try {
        const jar = new Jar().apply(await send(`${served.url}/login`, { method: 'POST' }))
        down = true
        const reply = await send(`${served.url}/me`, { cookie: jar.header() })
        expect(reply.status).toBe(503)
        down = false
        expect((await send(`${served.url}/me`, { cookie: jar.header() })).json()).toEqual({ user: 'ada' })
      } finally {
        await served.close()
      }
    })

    it("a session too large for its cookies is an error through the app's error handler, not a success without the cookie", async () => {
      const seen: unknown[] = []
      const served = await start({}, (app) => {
        app.post('/big', (req, res) => {
          req.session.blob = 'y'.repeat(20_000)
          res.json({ ok: true })
        })
        app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
          seen.push((error as { code?: unknown }).code)
          res.status(500).send('failed')
        })
      })
      try {
        const reply = await send(`${served.url}/big`, { method: 'POST' })
        expect(reply.status).toBe(500)
        expect(reply.body).toBe('failed')
        expect(reply.setCookie).toEqual([])
        expect(seen).toEqual(['ERR_SESSION_TOO_LARGE'])
      } finally {
        await served.close()
      }
    })
  })

  describe('request facts', () => {
    it("E9: Secure follows req.secure, which respects Express's trust proxy", async () => {
      const app = express()
      app.set('trust proxy', true)
      app.use(session({ secret: SECRET }))
      app.post('/', (req, res) => {
        req.session.n = 1
        res.end()
      })
      const served = await serve(app)
      try {
        const https = await send(`${served.url}/`, {
          method: 'POST',
          headers: { 'x-forwarded-proto': 'https' },
        })
        expect(parseSetCookie(https.setCookie[0] ?? '').attributes.get('secure')).toBe(true)
        const http = await send(`${served.url}/`, { method: 'POST' })
        expect(parseSetCookie(http.setCookie[0] ?? '').attributes.has('secure')).toBe(false)
      } finally {
        await served.close()
      }
    })

    it('T9: every Cookie header line is read', async () => {
      const served = await start()
      try {
        const jar = new Jar().apply(await send(`${served.url}/json`, { method: 'POST' }))
        const reply = await send(`${served.url}/read`, { cookie: ['other=1', jar.header()] })
        expect(reply.json()).toEqual({ n: 1 })
      } finally {
        await served.close()
      }
    })
  })
})

describe('configuration', () => {
  it('K1: a bad secret throws when the middleware is created, not on the first request', () => {
    expect(() => session({ secret: 'short' })).toThrow(
      expect.objectContaining({ code: SessionErrorCode.INVALID_SECRET }) as unknown as Error,
    )
  })

  it('L7: `property` exposes the session under another request field', async () => {
    const app = express5()
    app.use(session({ secret: SECRET, property: 'admin', cookie: { name: 'admin' } }))
    app.post('/', (req, res) => {
      const admin = (req as unknown as { admin: typeof req.session }).admin
      admin.set('role', 'root')
      res.json({ plain: 'session' in req })
    })
    const served = await serve(app)
    try {
      const reply = await send(`${served.url}/`, { method: 'POST' })
      expect(reply.json()).toEqual({ plain: false })
      expect(cookieNames(reply)).toEqual(['admin'])
    } finally {
      await served.close()
    }
  })
})

describe.each([
  ['express 5', express5],
  ['express 4', express4],
])('%s: the logout idiom req.session = null', (_name, express) => {
  it('L10: works in a mounted sub-app too, where the request has the sub-app prototype', async () => {
    const app = express()
    app.use(session({ secret: SECRET }))
    const sub = express()
    sub.post('/login', (req, res) => {
      req.session.user = 'ada'
      res.json({ user: req.session.user })
    })
    sub.post('/logout', (req, res) => {
      ;(req as unknown as { session: unknown }).session = null
      res.json({ session: req.session })
    })
    sub.get('/me', (req, res) => {
      res.json({ user: req.session.user ?? null })
    })
    app.use('/sub', sub)
    const served = await serve(app)
    try {
      const jar = new Jar().apply(await send(`${served.url}/sub/login`, { method: 'POST' }))
      expect((await send(`${served.url}/sub/me`, { cookie: jar.header() })).json()).toEqual({ user: 'ada' })
      const logout = await send(`${served.url}/sub/logout`, { method: 'POST', cookie: jar.header() })
      expect(logout.json()).toEqual({ session: null })
      expect(sessionCookies(logout).map((h) => parseSetCookie(h).value)).toEqual([''])
      expect((await send(`${served.url}/sub/me`, { cookie: jar.apply(logout).header() })).json()).toEqual({
        user: null,
      })
    } finally {
      await served.close()
    }
  })

  it('L10: assigning anything but null is a clear error, and a request the middleware never saw keeps a plain property', async () => {
    const app = express()
    app.post('/before', (req, res) => {
      ;(req as unknown as { session: unknown }).session = 'plain'
      res.json({ session: req.session })
    })
    app.use(session({ secret: SECRET }))
    app.post('/replace', (req, res) => {
      ;(req as unknown as { session: unknown }).session = { user: 'eve' }
      res.json({ replaced: true })
    })
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ code: SessionError.is(error) ? error.code : String(error) })
    })
    const served = await serve(app)
    try {
      const replaced = await send(`${served.url}/replace`, { method: 'POST' })
      expect(replaced.status).toBe(500)
      expect(replaced.json()).toEqual({ code: SessionErrorCode.INVALID_STATE })
      // Once the accessor is in place, a route before the middleware still sets a plain property.
      expect((await send(`${served.url}/before`, { method: 'POST' })).json()).toEqual({ session: 'plain' })
    } finally {
      await served.close()
    }
  })
})
