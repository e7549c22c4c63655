import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  AdapterHarness,
  AnySession,
  ConformanceApp,
  RouteResult,
  RunningServer,
} from '@x/session-conformance-tests'
import { listening } from '@x/session-conformance-tests'
import type Koa from 'koa'
import type { Context } from 'koa'
import { getSession } from '../src/context.js'
import { session } from '../src/index.js'

export type KoaClass = typeof Koa

/** Serves the suite's route table on `KoaClass` (Koa 2 or 3) with one `session()` per mounted session. */
export function koaHarness(name: string, KoaClass: KoaClass): AdapterHarness {
  return {
    name,
    secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
    start: (app) => serve(new KoaClass(), app),
  }
}

/** Mounts the sessions, then one middleware that routes to the suite's handlers and renders their results. */
async function serve(koa: Koa, app: ConformanceApp): Promise<RunningServer> {
  // Thrown handler errors are the point of some cases: keep Koa's default logger quiet.
  koa.silent = true
  // The suite's secure requests come from a proxy on this machine (see `secureRequest`).
  koa.proxy = true
  const middlewares = app.sessions.map((mounted) =>
    session({ ...mounted.options, property: mounted.property }),
  )
  for (const middleware of middlewares) koa.use(middleware)
  const first = app.sessions[0]?.property ?? 'session'
  koa.use(async (ctx) => {
    const route = app.routes.find((r) => r.method === ctx.method && r.path === ctx.path)
    if (!route) return
    const sessions: Record<string, AnySession> = {}
    for (const mounted of app.sessions) sessions[mounted.property] = ctx[mounted.property]
    const result = await route.handler({
      sessions,
      session: ctx[first],
      sessionAgain: getSession(),
      query: new URLSearchParams(ctx.querystring),
      setHeader: (name, value) => ctx.set(name, value),
      assignNull: () => {
        ctx[first] = null
      },
    })
    render(ctx, result)
  })
  // Upgrade requests never reach Koa: the README's recipe loads their session with upgrade(req).
  const upgrade = middlewares[0]!.upgrade
  return listening(koa.listen(0, '127.0.0.1'), { routes: app.sockets, session: upgrade })
}

/** Listens on 127.0.0.1, port 0. */
export function listen(koa: Koa): Promise<RunningServer> {
  return listening(koa.listen(0, '127.0.0.1'))
}

function render(ctx: Context, result: RouteResult): void {
  switch (result.type) {
    case 'json':
      ctx.status = result.status ?? 200
      ctx.body = result.body
      return
    case 'redirect':
      ctx.redirect(result.location)
      return
    case 'stream':
      ctx.body = Readable.from(chunks(result.chunks, result.delayMs ?? 0))
      return
    case 'throw':
      throw new Error('boom')
  }
}

async function* chunks(list: string[], delayMs: number): AsyncGenerator<string> {
  for (const [i, chunk] of list.entries()) {
    if (i > 0 && delayMs > 0) await sleep(delayMs)
    yield chunk
  }
}
