import express from 'express'
import {
  connectRedisStore,
  nextValue,
  projectOptions,
  projectStore,
  seedData,
  seedIndex,
} from '../lib/common.mjs'

const WEEK_MS = 7 * 86_400_000

/** Express 5: bare, this project, express-session (memory store or connect-redis), iron-session. */
export async function start(spec) {
  const app = express()
  let close = async () => {}

  // Every middleware is mounted before any route, so /untouched runs through it too.
  switch (spec.library) {
    case 'bare':
      break

    case 'floor':
      // The framework's own cost of one middleware that does nothing: what no session library can go under.
      app.use((_req, _res, next) => next())
      break

    case 'x-session': {
      const mod = await import('@x/session-express')
      const s = await projectStore(spec, mod)
      close = s.close
      app.use(mod.session(projectOptions(spec, s.store)))
      propertyRoutes(app)
      break
    }

    case 'express-session': {
      const { default: session } = await import('express-session')
      // Its memory store, or connect-redis on the Redis store scenarios.
      const peer = spec.store === 'redis' ? await connectRedisStore(spec) : undefined
      if (peer) close = peer.close
      // The README's recommendations: no resave, no empty sessions; a maxAge like this project's idle timeout.
      app.use(
        session({
          secret: spec.secret,
          resave: false,
          saveUninitialized: false,
          cookie: { maxAge: WEEK_MS },
          ...(peer ? { store: peer.store } : {}),
        }),
      )
      propertyRoutes(app)
      break
    }

    case 'iron-session': {
      const { getIronSession } = await import('iron-session')
      // As in its README: one options object, getIronSession in each route, save() after a change.
      const options = {
        cookieName: 'session',
        password: spec.secret,
        cookieOptions: { secure: false },
      }
      app.get('/seed', async (req, res) => {
        const session = await getIronSession(req, res, options)
        Object.assign(session, seedData(seedIndex(req.url)))
        await session.save()
        res.json({ ok: true })
      })
      app.get('/read', async (req, res) => {
        const session = await getIronSession(req, res, options)
        res.json({ user: session.user, n: session.n })
      })
      app.get('/write', async (req, res) => {
        const session = await getIronSession(req, res, options)
        session.n = nextValue()
        await session.save()
        res.json({ n: session.n })
      })
      break
    }

    default:
      throw new Error(`express: unknown library ${spec.library}`)
  }

  app.get('/untouched', (_req, res) => {
    res.json({ ok: true })
  })

  const server = await listen(app)
  return {
    port: server.address().port,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await close()
    },
  }
}

/** Routes for libraries that put the session on `req.session` with data as properties. */
function propertyRoutes(app) {
  app.get('/seed', (req, res) => {
    Object.assign(req.session, seedData(seedIndex(req.url)))
    res.json({ ok: true })
  })
  app.get('/read', (req, res) => {
    res.json({ user: req.session.user, n: req.session.n })
  })
  app.get('/write', (req, res) => {
    req.session.n = nextValue()
    res.json({ n: req.session.n })
  })
}

function listen(app) {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(server)))
  })
}
