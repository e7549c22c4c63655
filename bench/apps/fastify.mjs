import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import {
  connectRedisStore,
  nextValue,
  projectOptions,
  projectStore,
  seedData,
  seedIndex,
} from '../lib/common.mjs'

const WEEK_MS = 7 * 86_400_000

/** Fastify 5: bare, this project, @fastify/secure-session, @fastify/session (+ @fastify/cookie). */
export async function start(spec) {
  const app = Fastify({ logger: false })
  let close = async () => {}

  switch (spec.library) {
    case 'bare':
      break

    case 'floor':
      // The hooks a session plugin needs, doing nothing: what no session library can go under.
      app.addHook('onRequest', (_request, _reply, done) => done())
      app.addHook('onSend', (_request, _reply, payload, done) => done(null, payload))
      break

    case 'x-session': {
      const mod = await import('@x/session-fastify')
      const s = await projectStore(spec, mod)
      close = s.close
      await app.register(mod.session, projectOptions(spec, s.store))
      propertyRoutes(app)
      break
    }

    case '@fastify/secure-session': {
      const { default: secureSession } = await import('@fastify/secure-session')
      // Its README: a 32-byte key (generated once, here per process), cookie path '/'.
      await app.register(secureSession, {
        key: randomBytes(32),
        cookieName: 'session',
        cookie: { path: '/', httpOnly: true },
      })
      app.get('/seed', async (request) => {
        for (const [k, v] of Object.entries(seedData(seedIndex(request.url)))) request.session.set(k, v)
        return { ok: true }
      })
      app.get('/read', async (request) => ({
        user: request.session.get('user'),
        n: request.session.get('n'),
      }))
      app.get('/write', async (request) => {
        const n = nextValue()
        request.session.set('n', n)
        return { n }
      })
      break
    }

    case '@fastify/session': {
      const { default: fastifyCookie } = await import('@fastify/cookie')
      const { default: fastifySession } = await import('@fastify/session')
      // Its README: register @fastify/cookie first; `secure: false` over plain HTTP. Its default
      // memory store. `rolling: false` and `saveUninitialized: false` (both default to true), or
      // every request would send the cookie and an unchanged read would be a write.
      // Its default memory store, or connect-redis (its README lists it) on the Redis store scenarios.
      const peer = spec.store === 'redis' ? await connectRedisStore(spec) : undefined
      if (peer) close = peer.close
      await app.register(fastifyCookie)
      await app.register(fastifySession, {
        secret: spec.secret,
        cookieName: 'session',
        cookie: { secure: false, maxAge: WEEK_MS },
        saveUninitialized: false,
        rolling: false,
        ...(peer ? { store: peer.store } : {}),
      })
      propertyRoutes(app)
      break
    }

    default:
      throw new Error(`fastify: unknown library ${spec.library}`)
  }

  app.get('/untouched', async () => ({ ok: true }))

  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    port: app.server.address().port,
    close: async () => {
      await app.close()
      await close()
    },
  }
}

function propertyRoutes(app) {
  app.get('/seed', async (request) => {
    Object.assign(request.session, seedData(seedIndex(request.url)))
    return { ok: true }
  })
  app.get('/read', async (request) => ({ user: request.session.user, n: request.session.n }))
  app.get('/write', async (request) => {
    request.session.n = nextValue()
    return { n: request.session.n }
  })
}
