import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { nextValue, projectOptions, projectStore, seedData, seedIndex } from '../lib/common.mjs'

const WEEK_S = 7 * 86_400

/** Hono 4 on @hono/node-server: bare, this project, hono-sessions (its CookieStore, iron). */
export async function start(spec) {
  const app = new Hono()
  let close = async () => {}

  switch (spec.library) {
    case 'bare':
      break

    case 'floor':
      // The framework's own cost of one middleware that does nothing: what no session library can go under.
      app.use(async (_c, next) => {
        await next()
      })
      break

    case 'x-session': {
      const mod = await import('@x/session-hono')
      const s = await projectStore(spec, mod)
      close = s.close
      app.use(mod.session(projectOptions(spec, s.store)))
      app.get('/seed', (c) => {
        Object.assign(c.get('session'), seedData(seedIndex(c.req.url)))
        return c.json({ ok: true })
      })
      app.get('/read', (c) => {
        const session = c.get('session')
        return c.json({ user: session.user, n: session.n })
      })
      app.get('/write', (c) => {
        const session = c.get('session')
        session.n = nextValue()
        return c.json({ n: session.n })
      })
      break
    }

    case 'hono-sessions': {
      const { CookieStore, sessionMiddleware } = await import('hono-sessions')
      // Its README's CookieStore setup, except `autoExtendExpiration: false`: with the default
      // every request re-seals and sends the cookie, so an unchanged read would be a write.
      app.use(
        '*',
        sessionMiddleware({
          store: new CookieStore(),
          encryptionKey: spec.secret,
          expireAfterSeconds: WEEK_S,
          autoExtendExpiration: false,
          cookieOptions: { sameSite: 'Lax', path: '/', httpOnly: true },
        }),
      )
      app.get('/seed', (c) => {
        const session = c.get('session')
        for (const [k, v] of Object.entries(seedData(seedIndex(c.req.url)))) session.set(k, v)
        return c.json({ ok: true })
      })
      app.get('/read', (c) => {
        const session = c.get('session')
        return c.json({ user: session.get('user'), n: session.get('n') })
      })
      app.get('/write', (c) => {
        const n = nextValue()
        c.get('session').set('n', n)
        return c.json({ n })
      })
      break
    }

    default:
      throw new Error(`hono: unknown library ${spec.library}`)
  }

  app.get('/untouched', (c) => c.json({ ok: true }))

  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  return {
    port: server.address().port,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await close()
    },
  }
}
