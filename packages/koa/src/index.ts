import type { IncomingMessage } from 'node:http'
import {
  type CommitResult,
  type SessionData as CoreSessionData,
  type ManagerSource,
  type RequestInfo,
  type ResponseInfo,
  resolveManager,
  type Session,
  type SessionManager,
} from '@x/session-core'
import type { Context, Middleware } from 'koa'

export * from '@x/session-core'
// Explicit exports win over the star: these default to this package's SessionData.
export {
  createSessionManager,
  type Session,
  type SessionApi,
  type SessionCycle,
  type SessionManager,
} from './session-types.js'

/**
 * Your session's shape, the default type of `ctx.session`. Extend it by declaration merging:
 * `declare module '@x/session-koa' { interface SessionData { userId: string } }`
 */
export interface SessionData extends CoreSessionData {}

declare module 'koa' {
  interface DefaultContext {
    /** This request's session (`@x/session-koa`), loaded before the next middleware runs. */
    session: Session<SessionData>
  }
}

/** Core's options (or `{ manager }`, a manager you created to reach it from your code), plus `property`. */
export type KoaSessionOptions = ManagerSource<SessionData> & {
  /**
   * The `ctx` property the session is exposed on. Mount a second session (with another cookie
   * name) under another property; type it by augmenting Koa's `DefaultContext`. @default 'session'
   */
  property?: string
}

type Headers = Record<string, unknown>

/**
 * Koa middleware (Koa 2 and 3) that loads the session into `ctx.session` before the next
 * middleware runs and commits it when they are done, also when they throw.
 */
export function session(options: KoaSessionOptions = {}): SessionMiddleware {
  const { property = 'session', ...source } = options
  const manager = resolveManager<SessionData>(source)
  const middleware: Middleware = async (ctx, next) => {
    const exchange = new Exchange(ctx)
    const cycle = manager.begin(exchange)
    const loaded = cycle.loadSync() ?? (await cycle.load())
    ctx[property] = loaded
    let thrown: { error: unknown } | undefined
    try {
      await cycle.run(next)
    } catch (error) {
      thrown = { error }
    }
    let result: CommitResult
    try {
      // `ctx.session = null` (koa-session's logout): core decides what a replaced session means.
      if (ctx[property] !== loaded) cycle.assign(ctx[property])
      result = cycle.commitSync(exchange) ?? (await cycle.commit(exchange))
    } catch (error) {
      // Koa answers with `err.status` (503 when the store is down), so the client never gets a
      // success without its cookie. When the handler threw first, its error answers and the
      // commit's goes to Koa's 'error' event, where the app logs what it cannot show.
      if (!thrown) throw error
      ctx.app.emit('error', error, ctx)
      throw thrown.error
    }
    applyTo(ctx, result)
    if (thrown) {
      carryOnError(thrown.error, result)
      throw thrown.error
    }
  }
  return Object.assign(middleware, { manager, upgrade: (req: IncomingMessage) => manager.upgrade(req) })
}

/** The middleware, plus what WebSocket servers on the same HTTP server need. */
export type SessionMiddleware = Middleware & {
  /** The manager behind the middleware (`endUserSessions`, `listUserSessions`). */
  readonly manager: SessionManager<SessionData>
  /**
   * The session of a WebSocket upgrade request, which never passes through Koa: call it in the
   * server's `upgrade` listener. `reload()` it in message handlers; `save()` persists a change.
   */
  upgrade(req: IncomingMessage): Promise<Session<SessionData>>
}

/**
 * What the engine reads of the request and the response, in one object per request. `secure` and
 * `cacheControl` are getters, asked only when a cookie goes out.
 */
class Exchange implements RequestInfo, ResponseInfo {
  readonly #ctx: Context
  readonly cookieHeader: string | undefined
  readonly headers: IncomingMessage['headers']
  constructor(ctx: Context) {
    this.#ctx = ctx
    this.headers = ctx.req.headers
    this.cookieHeader = ctx.req.headers.cookie
  }
  get secure(): boolean {
    return this.#ctx.secure
  }
  get cacheControl(): string | undefined {
    return headerValue(this.#ctx.response.get('Cache-Control'))
  }
}

function applyTo(ctx: Context, { setCookie, headers, cacheControl }: CommitResult): void {
  for (const value of setCookie) ctx.append('Set-Cookie', value)
  for (const [name, value] of headers) ctx.set(name, value)
  if (cacheControl !== undefined) ctx.set('Cache-Control', cacheControl)
}

/**
 * Koa's default error handler (`ctx.onerror`) removes every response header, then sets those in
 * `err.headers`. The session's headers go there too, so an error response still carries the cookie
 * (a session changed before the throw is saved, and a destroyed one is cleared). An app's own error
 * middleware upstream keeps the headers already appended to `ctx` instead.
 */
function carryOnError(error: unknown, { setCookie, headers: more, cacheControl }: CommitResult): void {
  if (typeof error !== 'object' || error === null) return
  if (setCookie.length === 0 && more.length === 0 && cacheControl === undefined) return
  const previous = (error as { headers?: unknown }).headers
  const headers: Headers =
    typeof previous === 'object' && previous !== null ? { ...(previous as Headers) } : {}
  if (setCookie.length > 0) {
    const key = keyOf(headers, 'Set-Cookie')
    const before = headers[key]
    headers[key] = before === undefined ? setCookie : [before].flat().concat(setCookie)
  }
  for (const [name, value] of more) headers[keyOf(headers, name)] = value
  if (cacheControl !== undefined) headers[keyOf(headers, 'Cache-Control')] = cacheControl
  // A frozen error cannot take them; Reflect.set reports that instead of throwing over the original.
  Reflect.set(error, 'headers', headers)
}

/** Header names are case-insensitive: reuse the app's spelling so one key does not shadow another. */
function keyOf(headers: Headers, name: string): string {
  const lower = name.toLowerCase()
  return Object.keys(headers).find((key) => key.toLowerCase() === lower) ?? name
}

/** Koa 2 answers '' for a missing header, Koa 3 `undefined`; either may hold a number or a list. */
function headerValue(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.join(', ')
  return value === undefined || value === '' ? undefined : String(value)
}
