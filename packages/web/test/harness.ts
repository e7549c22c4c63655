import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { type HttpBindings, type ServerType, serve } from '@hono/node-server'
import type {
  AdapterHarness,
  AnySession,
  ConformanceApp,
  RouteContext,
  RouteResult,
  RunningServer,
} from '@x/session-conformance-tests'
import { createWebSession, getSession } from '@x/session-web'
import { type WebSocket, WebSocketServer } from 'ws'

const nodeServerVersion: string = JSON.parse(
  readFileSync(new URL('../node_modules/@hono/node-server/package.json', import.meta.url), 'utf8'),
).version

/**
 * What the Node bridge hands a Fetch handler after the request: @hono/node-server's bindings, and
 * on a WebSocket handshake `upgrade()`, which takes the request over as Bun's `server.upgrade()`
 * does (the handler then returns nothing).
 */
export type NodeEnv = Partial<HttpBindings> & { upgrade?: (onSocket: (socket: WebSocket) => void) => void }

export type Handler = (request: Request, env: NodeEnv) => Response | undefined | Promise<Response | undefined>

/** A Fetch handler for a conformance route table: each session one `withSession` wrapper, the first outermost. */
export function buildHandler(def: ConformanceApp): Handler {
  const mounted = def.sessions.map(({ property, options }) => {
    const web = createWebSession(options)
    return { property, web, cookieName: web.manager.cookieName }
  })
  const first = mounted[0]?.cookieName
  const session = (request: Request, cookieName = first) => getSession(request, cookieName) as AnySession

  const app: Handler = async (request, env) => {
    const url = new URL(request.url)
    const socketRoute = def.sockets.find((r) => r.path === url.pathname)
    if (socketRoute && request.method === 'GET') {
      if (!env.upgrade) return new Response('Upgrade Required', { status: 426 })
      const ctx = { session: session(request) }
      env.upgrade((socket) => {
        let queue = Promise.resolve()
        socket.on('message', (data, isBinary) => {
          if (isBinary) return
          const text = String(data)
          queue = queue.then(async () => socket.send(await socketRoute.onMessage(ctx, text)))
        })
      })
      return undefined
    }
    const route = def.routes.find((r) => r.method === request.method && r.path === url.pathname)
    if (!route) return new Response('Not Found', { status: 404 })
    const headers = new Headers()
    const sessions: Record<string, AnySession> = {}
    for (const m of mounted) sessions[m.property] = session(request, m.cookieName)
    const ctx: RouteContext = {
      sessions,
      session: session(request),
      sessionAgain: session(request),
      query: url.searchParams,
      setHeader(name, value) {
        headers.delete(name)
        for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
      },
    }
    return render(await route.handler(ctx), headers)
  }

  // The app's own error handling, as a Fetch app has it: the wrapper's `onError`. Each wrapper
  // gets it, so every session's cookie goes out with the error response.
  const onError = () => new Response('Internal Server Error', { status: 500 })
  let handler = app
  for (const m of [...mounted].reverse()) handler = m.web.wrap(handler, { onError })
  return handler
}

function render(result: RouteResult, headers: Headers): Response {
  switch (result.type) {
    case 'json':
      return Response.json(result.body, { status: result.status ?? 200, headers })
    case 'redirect':
      headers.set('location', result.location)
      return new Response(null, { status: 302, headers })
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
      headers.set('content-type', 'text/plain; charset=utf-8')
      return new Response(body, { status: 200, headers })
    }
    case 'throw':
      throw new Error('boom')
  }
}

/** The handshake as a Fetch `Request`: what Bun and Deno hand a handler for an upgrade. */
function upgradeRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
  }
  return new Request(new URL(req.url ?? '/', origin), { headers })
}

/**
 * Serves `handler` on 127.0.0.1 through @hono/node-server (Node -> Request -> handler -> Response),
 * and WebSocket handshakes through the same handler with `ws`.
 */
/**
 * The Request a trusted TLS-terminating proxy's app sees (SvelteKit's `PROTOCOL_HEADER`, a Workers
 * route): `X-Forwarded-Proto: https` makes the URL https, as such a bridge rebuilds it.
 */
function behindProxy(request: Request): Request {
  if (request.headers.get('x-forwarded-proto') !== 'https' || !request.url.startsWith('http:')) return request
  return new Request(`https:${request.url.slice('http:'.length)}`, request)
}

export function listen(handler: Handler): Promise<RunningServer> {
  const wss = new WebSocketServer({ noServer: true })
  return new Promise((resolve) => {
    const server: ServerType = serve(
      {
        fetch: (request, env) => handler(behindProxy(request), env as HttpBindings),
        hostname: '127.0.0.1',
        port: 0,
      },
      (info: AddressInfo) => {
        const origin = `http://127.0.0.1:${info.port}`
        server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          void upgrade(handler, wss, upgradeRequest(req, origin), req, socket, head)
        })
        resolve({
          url: origin,
          close: async () => {
            // Upgraded sockets are no longer the HTTP server's to close.
            for (const client of wss.clients) client.terminate()
            await new Promise<void>((done) => wss.close(() => done()))
            await new Promise<void>((done, fail) => {
              server.close((err) => (err ? fail(err) : done()))
              if ('closeAllConnections' in server) server.closeAllConnections()
            })
          },
        })
      },
    )
  })
}

async function upgrade(
  handler: Handler,
  wss: WebSocketServer,
  request: Request,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  let accepted: ((ws: WebSocket) => void) | undefined
  let response: Response | undefined
  try {
    response = await handler(request, { upgrade: (onSocket) => (accepted = onSocket) })
  } catch {
    response = new Response(null, { status: 500 })
  }
  if (accepted) {
    const onSocket = accepted
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws))
    return
  }
  // A refusal is a bare status line: the handshake has no body to carry.
  const status = response?.status ?? 500
  socket.end(`HTTP/1.1 ${status} ${response?.statusText || 'Refused'}\r\nConnection: close\r\n\r\n`)
}

export const webHarness: AdapterHarness = {
  secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
  unsupported: {
    logoutIdiom:
      'a Fetch handler reaches its session through getSession(request), not a property it could assign null to',
  },
  name: `web (Fetch handler on @hono/node-server ${nodeServerVersion})`,
  start: (def) => listen(buildHandler(def)),
}
