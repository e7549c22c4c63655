import { once } from 'node:events'
import { type Agent, type IncomingHttpHeaders, type IncomingMessage, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import WebSocket, { WebSocketServer } from 'ws'
import type { AnySession, ConformanceSocketRoute, RunningServer } from './types.js'

export interface Reply {
  status: number
  headers: IncomingHttpHeaders
  /** Raw `Set-Cookie` header values, as sent. */
  setCookie: string[]
  body: string
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are whatever the route sent
  json(): any
}

export interface SendOptions {
  method?: 'GET' | 'POST'
  /** One `Cookie` header, or several header lines. */
  cookie?: string | readonly string[]
  headers?: Record<string, string>
  /** A request body, sent as JSON. */
  body?: string
  /** The connection pool to use (a keep-alive `Agent` for many requests in a row). @default a new connection */
  agent?: Agent
}

/** A raw HTTP request over node:http, so the suite controls header lines byte for byte. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string | string[]> = { ...options.headers }
  if (options.cookie !== undefined)
    headers.cookie = typeof options.cookie === 'string' ? options.cookie : [...options.cookie]
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(options.body))
  }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          const raw = res.headers['set-cookie']
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            setCookie: raw ?? [],
            body,
            json: () => JSON.parse(body),
          })
        })
      },
    )
    req.setTimeout(15_000, () => req.destroy(new Error(`request to ${url} timed out`)))
    req.on('error', reject)
    req.end(options.body)
  })
}

export interface ParsedSetCookie {
  name: string
  value: string
  /** Attribute names lower-cased; flag attributes map to `true`. */
  attributes: Map<string, string | true>
}

export function parseSetCookie(header: string): ParsedSetCookie {
  const [pair = '', ...rest] = header.split(';')
  const eq = pair.indexOf('=')
  const attributes = new Map<string, string | true>()
  for (const part of rest) {
    const i = part.indexOf('=')
    if (i === -1) attributes.set(part.trim().toLowerCase(), true)
    else attributes.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim())
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes }
}

/**
 * A minimal browser cookie jar: enough to follow one client through a test. With `tokenHeader`, it
 * is an API client of the header transport as well: it keeps the token the server last sent in that
 * header (an empty value drops it) and sends it back on every request, empty when it has none.
 */
export class Jar {
  readonly cookies = new Map<string, string>()
  /** Header transport: the header's name, lower-case. */
  readonly tokenHeader: string | undefined
  /** Header transport: the token to send back. */
  token: string | undefined

  constructor(options: { tokenHeader?: string } = {}) {
    this.tokenHeader = options.tokenHeader?.toLowerCase()
  }

  apply(reply: Pick<Reply, 'setCookie'> & { headers?: IncomingHttpHeaders }): this {
    for (const header of reply.setCookie) {
      const { name, value, attributes } = parseSetCookie(header)
      if (attributes.get('max-age') === '0' || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    const sent = this.tokenHeader ? reply.headers?.[this.tokenHeader] : undefined
    if (typeof sent === 'string') this.token = sent === '' ? undefined : sent
    return this
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  /** The `Cookie` header value. */
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  /** Every header this client sends: `Cookie` when it has cookies, and the token header in header transport. */
  requestHeaders(): Record<string, string> {
    const headers: Record<string, string> = {}
    const cookie = this.header()
    if (cookie) headers.cookie = cookie
    if (this.tokenHeader) headers[this.tokenHeader] = this.token ?? ''
    return headers
  }

  clone(): Jar {
    const jar = new Jar({ tokenHeader: this.tokenHeader })
    for (const [name, value] of this.cookies) jar.cookies.set(name, value)
    jar.token = this.token
    return jar
  }
}

/** WebSocket endpoints for `listening()`, for frameworks whose upgrade requests skip their middleware. */
export interface NodeSockets {
  routes: readonly ConformanceSocketRoute[]
  /** The session of an upgrade request: the adapter's `upgrade(req)` (or `manager.upgrade(req)`). */
  session(req: IncomingMessage): Promise<AnySession>
}

/**
 * Waits for a Node HTTP server (what `app.listen(0, '127.0.0.1')` returns in Express and Koa, and
 * `serve()` in @hono/node-server) to listen, and returns its URL and a `close()` that also ends
 * kept-alive connections, so a harness's `stop` never waits on an idle socket.
 *
 * With `sockets`, it also serves the suite's WebSocket endpoints the way an app does when upgrade
 * requests never reach the framework (Express, Koa): the server's `upgrade` listener loads the
 * session with `sockets.session(req)` and hands the connection to `ws`; `close()` ends those
 * connections too, which `server.close()` does not track once upgraded.
 */
export async function listening(server: Server, sockets?: NodeSockets): Promise<RunningServer> {
  const closeSockets = sockets ? acceptSockets(server, sockets) : async () => {}
  if (!server.listening) await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await closeSockets()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function acceptSockets(server: Server, { routes, session: load }: NodeSockets): () => Promise<void> {
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const route = routes.find((r) => r.path === new URL(req.url ?? '/', 'http://localhost').pathname)
    if (!route) return void socket.destroy()
    // A client that goes away while the session loads must not crash the process.
    const onError = () => socket.destroy()
    socket.on('error', onError)
    load(req).then(
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

export interface SocketClient {
  /** Sends one text message and resolves with the next text message the server sends back. */
  ask(message: string): Promise<string>
  close(): Promise<void>
}

/**
 * Opens a WebSocket to `url` (`http://` is switched to `ws://`) with the given request headers
 * (a `Cookie`, a token header), and waits until it is open. Rejects when the upgrade is refused.
 */
export async function openSocket(
  url: string,
  options: { cookie?: string; headers?: Record<string, string> } = {},
): Promise<SocketClient> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.cookie) headers.cookie = options.cookie
  const socket = new WebSocket(url.replace(/^http/, 'ws'), { headers, handshakeTimeout: 15_000 })
  const inbox: string[] = []
  const waiting: ((message: string) => void)[] = []
  socket.on('message', (data) => {
    const text = String(data)
    const next = waiting.shift()
    if (next) next(text)
    else inbox.push(text)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
    socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)))
  })
  return {
    ask(message) {
      const reply = new Promise<string>((resolve, reject) => {
        const queued = inbox.shift()
        if (queued !== undefined) return resolve(queued)
        const timer = setTimeout(() => reject(new Error('no reply on the WebSocket within 15 s')), 15_000)
        waiting.push((text) => {
          clearTimeout(timer)
          resolve(text)
        })
      })
      socket.send(message)
      return reply
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve()
        socket.once('close', () => resolve())
        socket.close()
      }),
  }
}
