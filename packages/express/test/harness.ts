import {
  type AdapterHarness,
  type AnySession,
  listening,
  type RouteContext,
  type RouteResult,
} from '@x/session-conformance-tests'
import type express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { getSession } from '../src/context.js'
import { session } from '../src/index.js'

type ExpressFactory = typeof express

/**
 * Serves the suite's app with the given Express. `asyncErrors`: the framework itself turns a rejected
 * handler promise into `next(err)` (Express 5); otherwise the route does it (Express 4).
 */
export function harness(factory: ExpressFactory, name: string, asyncErrors: boolean): AdapterHarness {
  return {
    name,
    secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
    async start(spec) {
      const app = factory()
      // The suite's secure requests come from a proxy on this machine (see `secureRequest`).
      app.set('trust proxy', 'loopback')
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
            sessionAgain: getSession(),
            query: new URL(req.originalUrl, 'http://localhost').searchParams,
            setHeader: (header, value) => res.setHeader(header, value),
            assignNull: () => {
              ;(req as unknown as Record<string, unknown>)[first] = null
            },
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
      // Upgrade requests never reach Express: the README's recipe loads their session with upgrade(req).
      const upgrade = middlewares[0]!.upgrade
      return listening(app.listen(0, '127.0.0.1'), { routes: spec.sockets, session: upgrade })
    },
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
