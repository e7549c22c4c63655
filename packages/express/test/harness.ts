import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import {
  type AdapterHarness,
  type AnySession,
  type ConformanceSocketRoute,
  listening,
  type RouteContext,
  type RouteResult,
} from '@x/session-conformance-tests'
import type express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { WebSocketServer } from 'ws'
import { type SessionMiddleware, session } from '../src/index.js'

type ExpressFactory = typeof express

/**
 * Serves the suite's app with the given Express. `asyncErrors`: the framework itself turns a rejected
 * handler promise into `next(err)` (Express 5); otherwise the route does it (Express 4).
 */
export function harness(factory: ExpressFactory, name: string, asyncErrors: boolean): AdapterHarness {
  return {
    name,
    async start(spec) {
      const app = factory()
      const middlewares = spec.sessions.map((mounted) =>
        session({ ...mounted.options, property: mounted.property }),
      )
      for (const middleware of middlewares) app.use(middleware)
      const read = (req: Request, property: string) =>
        (req as unknown as Record<string, AnySession>)[property]!
      for (const route of spec.routes) {
        const handle = async (req: Request, res: Response) => {
          const first = spec.sessions[0]!.property
          const ctx: RouteContext = {
            sessions: Object.fromEntries(
              spec.sessions.map(({ property }) => [property, read(req, property)]),
            ),
            session: read(req, first),
            sessionAgain: read(req, first),
            query: new URL(req.originalUrl, 'http://localhost').searchParams,
            setHeader: (header, value) => res.setHeader(header, value),
          }
          await render(res, await route.handler(ctx))
        }
        const method = route.method === 'GET' ? 'get' : 'post'
        if (asyncErrors) app[method](route.path, handle)
        else
          app[method](
            route.path,
            (req: Request, res: Response, next: NextFunction) => void handle(req, res).catch(next),
          )
      }
      const server = app.listen(0, '127.0.0.1')
      const closeSockets = acceptSockets(server, spec.sockets, middlewares[0]!)
      const running = await listening(server)
      return {
        url: running.url,
        async close() {
          await closeSockets()
          await running.close()
        },
      }
    },
  }
}

/**
 * The README's recipe: upgrade requests never reach Express, so the server's `upgrade` listener
 * loads the session with `middleware.upgrade(req)` and hands the socket to `ws`. Returns what
 * closes the sockets, which `server.close()` does not track once upgraded.
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

async function render(res: Response, result: RouteResult): Promise<void> {
  switch (result.type) {
    case 'json':
      res.status(result.status ?? 200).json(result.body)
      return
    case 'redirect':
      res.redirect(302, result.location)
      return
    case 'throw':
      throw new Error('boom')
    case 'stream': {
      const [first = '', ...rest] = result.chunks
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.write(first)
      for (const chunk of rest) {
        await new Promise((resolve) => setTimeout(resolve, result.delayMs ?? 0))
        res.write(chunk)
      }
      res.end()
    }
  }
}
