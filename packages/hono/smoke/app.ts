/**
 * The app the runtime smoke suite (`smoke/run.mjs`) bundles for Node, Bun, Deno and workerd. It is
 * built from the package's source, so every runtime runs exactly the adapter under test.
 *
 * Test-only hooks, read per request: `x-test-now` (epoch ms) is the session clock, so expiry is
 * tested without waiting; `x-test-store-down: 1` makes the server store fail. Requests are sent
 * one at a time, which is what makes a module-level value per request sound here.
 */
import {
  memoryStore,
  type Session,
  type SessionEnv,
  SessionError,
  type SessionStore,
  session,
} from '@x/session-hono'
import { getSession } from '@x/session-hono/context'
import { Hono } from 'hono'

export const SMOKE_SECRET = 'smoke-test-secret-0123456789-abcdefghijkl'
export const IDLE_SECONDS = 60
export const TOKEN_HEADER = 'X-Session-Token'

export interface Data {
  n?: number
}

let now = 0
let storeDown = false

function flaky(inner: SessionStore): SessionStore {
  const down = () => Promise.reject(new Error('store down (smoke test)'))
  return {
    get: (id) => (storeDown ? down() : inner.get(id)),
    set: (id, value, opts) => (storeDown ? down() : inner.set(id, value, opts)),
    delete: (id) => (storeDown ? down() : inner.delete(id)),
  }
}

type Env = SessionEnv<Data> & SessionEnv<Data, 'server'> & SessionEnv<Data, 'token'>
type Property = 'session' | 'server' | 'token'

/** What getSession() names each session by: the first needs no name; the others, their cookie's. */
const cookieNames: Record<Property, string | undefined> = { session: undefined, server: 'sid', token: 'tok' }

/** Code far from the handler, as a service layer is: awaits, a timer and a Web Crypto call. */
async function service(property: Property): Promise<Session<Data>> {
  await Promise.resolve()
  await new Promise((resolve) => setTimeout(resolve, 1))
  await crypto.subtle.digest('SHA-256', new Uint8Array(8))
  return getSession<Data>(cookieNames[property])
}

/** What getSession() does at module scope, where no request is being handled. */
const outside: string = (() => {
  try {
    getSession()
    return 'found a session'
  } catch (error) {
    return SessionError.is(error) ? error.code : String(error)
  }
})()

export function createApp(): Hono<Env> {
  const app = new Hono<Env>()
  app.use(async (c, next) => {
    const t = Number(c.req.header('x-test-now'))
    now = Number.isSafeInteger(t) && t > 0 ? t : Date.now()
    storeDown = c.req.header('x-test-store-down') === '1'
    await next()
  })
  const common = { secret: SMOKE_SECRET, clock: () => now, idleTimeout: IDLE_SECONDS, rolling: false }
  // The cookie store (everything sealed in the cookie) and a server store, side by side (L7).
  app.use(session<Data>(common))
  app.use(
    session<Data, 'server'>({
      ...common,
      store: flaky(memoryStore()),
      cookie: { name: 'sid' },
      property: 'server',
    }),
  )
  // The header transport: a request carrying the header is read from it and answered in it.
  app.use(
    session<Data, 'token'>({
      ...common,
      store: memoryStore(),
      cookie: { name: 'tok' },
      tokenHeader: TOKEN_HEADER,
      property: 'token',
    }),
  )

  const pick = (c: { req: { query(k: string): string | undefined } }): Property => {
    const store = c.req.query('store')
    return store === 'server' || store === 'token' ? store : 'session'
  }

  app.get('/health', (c) => c.text('ok'))
  // What the runtime hands the app as the Cookie header: shows how it joins split header lines.
  app.get('/cookie-header', (c) => c.text(c.req.raw.headers.get('cookie') ?? ''))
  app.get('/read', (c) => {
    const s = c.get(pick(c))
    return c.json({ id: s.id, isNew: s.isNew, n: s.n ?? null })
  })
  app.post('/write', (c) => {
    const s = c.get(pick(c))
    s.n = (s.n ?? 0) + 1
    return c.json({ id: s.id, n: s.n })
  })
  app.post('/regenerate', async (c) => {
    const s = c.get(pick(c))
    await s.regenerate({ keep: true })
    return c.json({ id: s.id, n: s.n ?? null })
  })
  app.post('/destroy', async (c) => {
    await c.get(pick(c)).destroy()
    return c.json({ destroyed: true })
  })
  app.post('/context', async (c) => {
    const property = pick(c)
    const found = await service(property)
    if (c.req.query('set') !== undefined) found.n = (found.n ?? 0) + 1
    return c.json({ same: found === c.get(property), n: found.n ?? null })
  })
  app.get('/context-outside', (c) => c.text(outside))
  app.post('/redirect', (c) => {
    c.get(pick(c)).n = 7
    return Response.redirect(new URL('/read', c.req.url), 302)
  })
  app.post('/stream', (c) => {
    c.get(pick(c)).n = 42
    const encoder = new TextEncoder()
    const parts = ['first;', 'second']
    return c.body(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          const part = parts.shift()
          if (part === undefined) controller.close()
          else controller.enqueue(encoder.encode(part))
        },
      }),
    )
  })
  return app
}
