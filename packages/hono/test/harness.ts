import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { createNodeWebSocket, type NodeWebSocket } from '@hono/node-ws'
import type {
  AdapterHarness,
  AnySession,
  ConformanceApp,
  RouteContext,
  RouteResult,
  RunningServer,
} from '@x/session-conformance-tests'
import { session } from '@x/session-hono'
import { getSession } from '@x/session-hono/context'
import { type Context, Hono } from 'hono'

const honoVersion: string = JSON.parse(
  readFileSync(new URL('../node_modules/hono/package.json', import.meta.url), 'utf8'),
).version

/** A Hono app for a conformance route table, with its WebSocket support for `listen()` to attach. */
export function buildApp(def: ConformanceApp): { app: Hono; ws: NodeWebSocket } {
  const app = new Hono()
  const ws = createNodeWebSocket({ app })
  // The suite's secure requests come from a proxy in front of the app (see `secureRequest`).
  for (const mounted of def.sessions)
    app.use(session({ ...mounted.options, property: mounted.property, trustProxy: true }))
  const first = def.sessions[0]?.property ?? 'session'
  const get = (c: Context, property: string) => c.get(property as never) as AnySession

  for (const route of def.sockets) {
    // The upgrade request runs through the middleware like any other: its session is c.get().
    app.get(
      route.path,
      ws.upgradeWebSocket((c) => {
        const ctx = { session: get(c, first) }
        let queue = Promise.resolve()
        return {
          onMessage(event, socket) {
            const text = event.data
            if (typeof text !== 'string') return
            queue = queue.then(async () => socket.send(await route.onMessage(ctx, text)))
          },
        }
      }),
    )
  }

  for (const route of def.routes) {
    app.on(route.method, route.path, async (c) => {
      const sessions: Record<string, AnySession> = {}
      for (const mounted of def.sessions) sessions[mounted.property] = get(c, mounted.property)
      const ctx: RouteContext = {
        sessions,
        session: get(c, first),
        sessionAgain: getSession(),
        query: new URL(c.req.url).searchParams,
        setHeader(name, value) {
          const values = Array.isArray(value) ? value : [value]
          c.header(name, values[0] ?? '')
          for (const extra of values.slice(1)) c.header(name, extra, { append: true })
        },
        assignNull: () => {
          c.set(first as never, null as never)
        },
      }
      return render(c, await route.handler(ctx))
    })
  }
  return { app, ws }
}

function render(c: Context, result: RouteResult): Response {
  switch (result.type) {
    case 'json':
      // biome-ignore lint/suspicious/noExplicitAny: the suite picks any status
      return c.json(result.body as object, (result.status ?? 200) as any)
    case 'redirect':
      return c.redirect(result.location, 302)
    case 'stream': {
      const encoder = new TextEncoder()
      const [head, ...rest] = result.chunks
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (head !== undefined) controller.enqueue(encoder.encode(head))
        },
        async pull(controller) {
          const next = rest.shift()
          if (next === undefined) return controller.close()
          if (result.delayMs) await new Promise((resolve) => setTimeout(resolve, result.delayMs))
          controller.enqueue(encoder.encode(next))
        },
      })
      return c.body(body, 200, { 'content-type': 'text/plain; charset=utf-8' })
    }
    case 'throw':
      throw new Error('boom')
  }
}

/** Serves `app` on 127.0.0.1; with `ws`, WebSocket upgrades too (`injectWebSocket`). */
export function listen(app: Hono, ws?: NodeWebSocket): Promise<RunningServer> {
  return new Promise((resolve) => {
    const server: ServerType = serve(
      { fetch: app.fetch, hostname: '127.0.0.1', port: 0 },
      (info: AddressInfo) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: async () => {
            if (ws) {
              // Upgraded sockets are no longer the HTTP server's to close.
              for (const client of ws.wss.clients) client.terminate()
              await new Promise<void>((done) => ws.wss.close(() => done()))
            }
            await new Promise<void>((done, fail) => {
              server.close((err) => (err ? fail(err) : done()))
              if ('closeAllConnections' in server) server.closeAllConnections()
            })
          },
        })
      },
    )
    ws?.injectWebSocket(server)
  })
}

export const honoHarness: AdapterHarness = {
  name: `hono ${honoVersion} (@hono/node-server)`,
  secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
  start(def) {
    const { app, ws } = buildApp(def)
    return listen(app, ws)
  },
}
