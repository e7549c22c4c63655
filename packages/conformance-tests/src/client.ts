import { once } from 'node:events'
import { type IncomingHttpHeaders, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RunningServer } from './types.js'

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
}

/** A raw HTTP request over node:http, so the suite controls header lines byte for byte. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string | string[]> = { ...options.headers }
  if (options.cookie !== undefined)
    headers.cookie = typeof options.cookie === 'string' ? options.cookie : [...options.cookie]
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
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
    })
    req.setTimeout(15_000, () => req.destroy(new Error(`request to ${url} timed out`)))
    req.on('error', reject)
    req.end()
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

/** A minimal browser cookie jar: enough to follow one client through a test. */
export class Jar {
  readonly cookies = new Map<string, string>()

  apply(reply: Pick<Reply, 'setCookie'>): this {
    for (const header of reply.setCookie) {
      const { name, value, attributes } = parseSetCookie(header)
      if (attributes.get('max-age') === '0' || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return this
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  clone(): Jar {
    const jar = new Jar()
    for (const [name, value] of this.cookies) jar.cookies.set(name, value)
    return jar
  }
}

/**
 * Waits for a Node HTTP server (what `app.listen(0, '127.0.0.1')` returns in Express and Koa, and
 * `serve()` in @hono/node-server) to listen, and returns its URL and a `close()` that also ends
 * kept-alive connections, so a harness's `stop` never waits on an idle socket.
 */
export async function listening(server: Server): Promise<RunningServer> {
  if (!server.listening) await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
