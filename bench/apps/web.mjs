import { serve } from '@hono/node-server'
import { nextValue, projectOptions, projectStore, seedData, seedIndex } from '../lib/common.mjs'

const json = (body) => Response.json(body)

/**
 * A plain Fetch handler (`(request) => Response`) on @hono/node-server, the same Node bridge the
 * Hono rows use: bare, this project's `withSession()`, iron-session over Request/Response.
 */
export async function start(spec) {
  /** Routes by path; every app answers /untouched without reading a session. */
  const routes = new Map([['/untouched', () => json({ ok: true })]])
  const app = (request, ...rest) => {
    const { pathname } = new URL(request.url)
    const route = routes.get(pathname)
    return route ? route(request, ...rest) : new Response('Not Found', { status: 404 })
  }
  let fetch = app
  let close = async () => {}

  switch (spec.library) {
    case 'bare':
      break

    case 'floor':
      // The cost of one wrapper that does nothing but await the handler: what no session library can go under.
      fetch = async (request, ...rest) => await app(request, ...rest)
      break

    case 'x-session': {
      const mod = await import('@x/session-web')
      const s = await projectStore(spec, mod)
      close = s.close
      fetch = mod.withSession(app, projectOptions(spec, s.store))
      routes.set('/seed', (request) => {
        Object.assign(mod.getSession(request), seedData(seedIndex(request.url)))
        return json({ ok: true })
      })
      routes.set('/read', (request) => {
        const session = mod.getSession(request)
        return json({ user: session.user, n: session.n })
      })
      routes.set('/write', (request) => {
        const session = mod.getSession(request)
        session.n = nextValue()
        return json({ n: session.n })
      })
      break
    }

    case 'iron-session': {
      const { getIronSession } = await import('iron-session')
      // Its README's Request/Response form: a Response to collect the cookie, save() after a change.
      const options = { cookieName: 'session', password: spec.secret, cookieOptions: { secure: false } }
      const withCookie = (collected, body) => {
        const response = json(body)
        for (const value of collected.headers.getSetCookie()) response.headers.append('set-cookie', value)
        return response
      }
      routes.set('/seed', async (request) => {
        const collected = new Response()
        const session = await getIronSession(request, collected, options)
        Object.assign(session, seedData(seedIndex(request.url)))
        await session.save()
        return withCookie(collected, { ok: true })
      })
      routes.set('/read', async (request) => {
        const session = await getIronSession(request, new Response(), options)
        return json({ user: session.user, n: session.n })
      })
      routes.set('/write', async (request) => {
        const collected = new Response()
        const session = await getIronSession(request, collected, options)
        session.n = nextValue()
        await session.save()
        return withCookie(collected, { n: session.n })
      })
      break
    }

    default:
      throw new Error(`web: unknown library ${spec.library}`)
  }

  const server = await new Promise((resolve) => {
    const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  return {
    port: server.address().port,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await close()
    },
  }
}
