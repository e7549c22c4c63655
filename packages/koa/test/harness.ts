import type { IncomingMessage, Server } from 'node:http'
import { type Duplex, Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  AdapterHarness,
  AnySession,
  ConformanceApp,
  ConformanceSocketRoute,
  RouteResult,
  RunningServer,
} from '@x/session-conformance-tests'
import { listening } from '@x/session-conformance-tests'
import type Koa from 'koa'
import type { Context } from 'koa'
import { WebSocketServer } from 'ws'
import { type SessionMiddleware, session } from '../src/index.js'

export type KoaClass = typeof Koa

/** Serves the suite's route table on `KoaClass` (Koa 2 or 3) with one `session()` per mounted session. */
export function koaHarness(name: string, KoaClass: KoaClass): AdapterHarness {
  return {
    name,
    start: (app) => serve(new KoaClass(), app),
  }
}

/** Mounts the sessions, then one middleware that routes to the suite's handlers and renders their results. */
async function serve(koa: Koa, app: ConformanceApp): Promise<RunningServer> {
  // Thrown handler errors are the point of some cases: keep Koa's default logger quiet.
  koa.silent = true
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
      sessionAgain: ctx[first],
      query: new URLSearchParams(ctx.querystring),
      setHeader: (name, value) => ctx.set(name, value),
    })
    render(ctx, result)
  })
  const server = koa.listen(0, '127.0.0.1')
  const closeSockets = acceptSockets(server, app.sockets, middlewares[0]!)
  const running = await listening(server)
  return {
    url: running.url,
    async close() {
      await closeSockets()
      await running.close()
    },
  }
}

/**
 * The README's recipe: upgrade requests never reach Koa, so the server's `upgrade` listener loads
 * the session with `middleware.upgrade(req)` and hands the socket to `ws`. Returns what closes the
 * sockets, which `server.close()` does not track once upgraded.
 */
function acceptSockets(
  server: Server,
  routes: readonly ConformanceSocketRoute[],
  middleware: SessionMiddleware,
): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = routes.find((r) => r.path === new URL(req.url ?? '/', 'http://localhost').pathname)
    if (!route) return void socket.destroy()
    // A client that goes away while the session loads must not crash the process.
    const onError = () => socket.destroy()
    socket.on('error', onError)
    void middleware.upgrade(req).then(
      (session) => {
        socket.removeListener('error', onError)
        wss.handleUpgrade(req, socket, head, (ws) => {
          // One answer per message, in order, even when a later message is quicker to handle.
          let queue = Promise.resolve()
          ws.on('message', (data, isBinary) => {
            if (isBinary) return
            queue = queue.then(async () => ws.send(await route.onMessage({ session }, String(data))))
          })
        })
      },
      () => socket.destroy(),
    )
  })
  return () => {
    for (const ws of wss.clients) ws.terminate()
    return new Promise((resolve) => wss.close(() => resolve()))
  }
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
