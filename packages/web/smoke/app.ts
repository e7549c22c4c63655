/**
 * The app the runtime smoke suite (`packages/hono/smoke/run.mjs --package .`) bundles for Node,
 * Bun, Deno and workerd: the same routes as the Hono adapter's smoke app, as a plain Fetch handler.
 * It is built from the package's source, so every runtime runs exactly the adapter under test.
 *
 * Test-only hooks, read per request: `x-test-now` (epoch ms) is the session clock, so expiry is
 * tested without waiting; `x-test-store-down: 1` makes the server store fail. Requests are sent
 * one at a time, which is what makes a module-level value per request sound here.
 */
import {
  getSession,
  memoryStore,
  type Session,
  SessionError,
  type SessionStore,
  withSession,
} from '@x/session-web'
import { getSession as currentSession } from '@x/session-web/context'

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

/** Each session's cookie name, by `?store=`: the first needs no name. */
const cookieNames: Record<string, string | undefined> = { session: undefined, server: 'sid', token: 'tok' }

/** Code far from the handler, as a service layer is: awaits, a timer and a Web Crypto call. */
async function service(cookieName: string | undefined): Promise<Session<Data>> {
  await Promise.resolve()
  await new Promise((resolve) => setTimeout(resolve, 1))
  await crypto.subtle.digest('SHA-256', new Uint8Array(8))
  return currentSession<Data>(cookieName)
}

/** What getSession() does at module scope, where no request is being handled. */
const outside: string = (() => {
  try {
    currentSession()
    return 'found a session'
  } catch (error) {
    return SessionError.is(error) ? error.code : String(error)
  }
})()

const json = (body: unknown) => Response.json(body)

async function app(request: Request): Promise<Response> {
  const url = new URL(request.url)
  const store = url.searchParams.get('store') ?? 'session'
  const cookieName = cookieNames[store]
  const s = () => getSession<Data>(request, cookieName)
  const route = `${request.method} ${url.pathname}`
  switch (route) {
    case 'GET /health':
      return new Response('ok')
    // What the runtime hands the app as the Cookie header: shows how it joins split header lines.
    case 'GET /cookie-header':
      return new Response(request.headers.get('cookie') ?? '')
    case 'GET /read':
      return json({ id: s().id, isNew: s().isNew, n: s().n ?? null })
    case 'POST /write':
      s().n = (s().n ?? 0) + 1
      return json({ id: s().id, n: s().n })
    case 'POST /regenerate':
      await s().regenerate({ keep: true })
      return json({ id: s().id, n: s().n ?? null })
    case 'POST /destroy':
      await s().destroy()
      return json({ destroyed: true })
    case 'POST /context': {
      const found = await service(cookieName)
      if (url.searchParams.has('set')) found.n = (found.n ?? 0) + 1
      return json({ same: found === s(), n: found.n ?? null })
    }
    case 'GET /context-outside':
      return new Response(outside)
    case 'POST /redirect':
      s().n = 7
      return Response.redirect(new URL('/read', request.url), 302)
    case 'POST /stream': {
      s().n = 42
      const encoder = new TextEncoder()
      const parts = ['first;', 'second']
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const part = parts.shift()
            if (part === undefined) controller.close()
            else controller.enqueue(encoder.encode(part))
          },
        }),
      )
    }
    default:
      return new Response('Not Found', { status: 404 })
  }
}

export function createHandler(): (request: Request) => Promise<Response> {
  const common = { secret: SMOKE_SECRET, clock: () => now, idleTimeout: IDLE_SECONDS, rolling: false }
  // The cookie store (everything sealed in the cookie), a server store, and the header transport.
  const sessions = withSession(
    withSession(
      withSession(app, {
        ...common,
        store: memoryStore(),
        cookie: { name: 'tok' },
        tokenHeader: TOKEN_HEADER,
      }),
      { ...common, store: flaky(memoryStore()), cookie: { name: 'sid' } },
    ),
    common,
  )
  return (request) => {
    const t = Number(request.headers.get('x-test-now'))
    now = Number.isSafeInteger(t) && t > 0 ? t : Date.now()
    storeDown = request.headers.get('x-test-store-down') === '1'
    return sessions(request)
  }
}
