import Koa from 'koa'
import { nextValue, projectOptions, projectStore, seedData, seedIndex } from '../lib/common.mjs'

/** Koa 3: bare, this project, koa-session (its default cookie store, signed). */
export async function start(spec) {
  const app = new Koa()
  let close = async () => {}

  switch (spec.library) {
    case 'bare':
      break

    case 'floor':
      // The framework's own cost of one middleware that does nothing: what no session library can go under.
      app.use(async (_ctx, next) => {
        await next()
      })
      break

    case 'x-session': {
      const mod = await import('@x/session-koa')
      const s = await projectStore(spec, mod)
      close = s.close
      app.use(mod.session(projectOptions(spec, s.store)))
      break
    }

    case 'koa-session': {
      const { default: session } = await import('koa-session')
      // Its README: app.keys for signing, the default options (cookie store, signed, 1 day).
      app.keys = [spec.secret]
      app.use(session({ key: 'session' }, app))
      break
    }

    default:
      throw new Error(`koa: unknown library ${spec.library}`)
  }

  // No router in any variant: the same switch costs the same in all of them.
  app.use((ctx) => {
    switch (ctx.path) {
      case '/untouched':
        ctx.body = { ok: true }
        return
      case '/seed':
        Object.assign(ctx.session, seedData(seedIndex(ctx.url)))
        ctx.body = { ok: true }
        return
      case '/read':
        ctx.body = { user: ctx.session.user, n: ctx.session.n }
        return
      case '/write': {
        const n = nextValue()
        ctx.session.n = n
        ctx.body = { n }
        return
      }
      default:
        ctx.status = 404
    }
  })

  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(s)))
  })
  return {
    port: server.address().port,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      await close()
    },
  }
}
