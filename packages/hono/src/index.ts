import {
  type SessionData as CoreSessionData,
  type ManagerSource,
  type RequestInfo,
  type ResponseInfo,
  resolveManager,
  type Session,
  SessionError,
} from '@x/session-core'
import type { Context, MiddlewareHandler } from 'hono'

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
 * Your session's shape, for every `session()` that names no other:
 * `declare module '@x/session-hono' { interface SessionData { userId: string } }`
 */
export interface SessionData extends CoreSessionData {}

type NodeHeaders = Readonly<Record<string, string | string[] | undefined>>

/** The Hono `Env` that types `c.get(property)`: `new Hono<SessionEnv>()`. */
export type SessionEnv<D extends object = SessionData, P extends string = 'session'> = {
  Variables: { [K in P]: Session<D> }
}

/** Core's options (or `{ manager }`, one you created to reach it from your code), plus `property`. */
export type HonoSessionOptions<
  D extends object = SessionData,
  P extends string = 'session',
> = ManagerSource<D> & {
  /** The `c.get()` key the session is exposed under; mount two sessions under two keys. @default 'session' */
  property?: P
  /**
   * The app runs behind a proxy that terminates TLS and sets `X-Forwarded-Proto`: a request is
   * secure (for `cookie.secure: 'auto'`) when the first value of that header is `https`. Leave it
   * off unless every request comes through such a proxy, as a client could otherwise claim HTTPS.
   * @default false
   */
  trustProxy?: boolean
}

/**
 * Session middleware for Hono 4: `app.use(session({ secret }))`, then `c.get('session')`.
 * Web-standard only, so the same code runs on Node, Bun, Deno and Cloudflare Workers.
 */
export function session<D extends object = SessionData, P extends string = 'session'>(
  options: HonoSessionOptions<D, P> = {},
): MiddlewareHandler<SessionEnv<D, P>> {
  const { property = 'session', trustProxy = false, ...source } = options
  const manager = resolveManager<D>(source)

  return async (c, next) => {
    const exchange = new Exchange(c as Context, trustProxy)
    const cycle = manager.begin(exchange)
    ;(c as Context).set(property, cycle.loadSync() ?? (await cycle.load()))

    // Hono's compose has already turned a handler's error into the onError response (and set
    // `c.error`), so this runs for thrown handlers too: their session changes are still committed.
    await cycle.run(next)

    let result: Awaited<ReturnType<typeof cycle.commit>>
    try {
      // `c.set('session', null)` (the logout idiom): core decides what a replaced session means.
      const exposed = (c as Context).get(property)
      if (exposed !== cycle.session) cycle.assign(exposed)
      result = cycle.commitSync(exchange) ?? (await cycle.commit(exchange))
    } catch (err) {
      if (!SessionError.is(err)) throw err
      return fail(c, err.status)
    }
    // A session that could not be used (store down) must fail closed with its own status, not the
    // 500 that Hono's default onError gives every error.
    if (SessionError.is(c.error) && c.res.status !== c.error.status) return fail(c, c.error.status)

    const { setCookie, headers: more, cacheControl } = result
    if (setCookie.length === 0 && more.length === 0 && cacheControl === undefined) return
    const apply = (headers: Headers) => {
      for (const value of setCookie) headers.append('set-cookie', value)
      for (const [name, value] of more) headers.set(name, value)
      if (cacheControl !== undefined) headers.set('cache-control', cacheControl)
    }
    try {
      apply(c.res.headers)
    } catch {
      // Responses from fetch() and Response.redirect() have immutable headers: copy, then write.
      // Unset first, or older Hono 4 releases would edit the immutable headers while merging them;
      // copy the Headers too, as @hono/node-server's Response would otherwise share them.
      const { body, status, statusText, headers } = c.res
      c.res = undefined
      c.res = new Response(body, { status, statusText, headers: new Headers(headers) })
      apply(c.res.headers)
    }
  }
}

/**
 * What the engine reads of the request and the response, in one object per request. `secure` and
 * `cacheControl` are getters, asked only when a cookie goes out: a response's headers can be costly
 * to reach. A class, not an object literal with getters, which V8 gives a new hidden class on every
 * request (a cost of its own, paid by every request that touches nothing).
 */
class Exchange implements RequestInfo, ResponseInfo {
  readonly #c: Context
  readonly #trustProxy: boolean
  readonly cookieHeader: string | readonly string[] | undefined
  readonly headers: NodeHeaders | Headers
  constructor(c: Context, trustProxy: boolean) {
    this.#c = c
    this.#trustProxy = trustProxy
    // On @hono/node-server the Node request is `c.env.incoming`: its headers are there already,
    // where asking the Request for them would build a Headers object first. Duck-typed, so other
    // runtimes (no `incoming`) use the Request's own.
    const node = (c.env as { incoming?: { headers?: NodeHeaders } } | undefined)?.incoming?.headers
    // Node, undici, Bun, Deno and workerd join repeated Cookie lines with "; " (smoke/run.mjs
    // checks it), which core parses as one header. Splitting on ',' here would let a cookie value
    // holding ", name=..." (set by a sibling subdomain) pose as a `__Host-` session.
    this.cookieHeader = node ? node.cookie : (c.req.raw.headers.get('cookie') ?? undefined)
    this.headers = node ?? c.req.raw.headers
  }
  get secure(): boolean {
    if (this.#trustProxy) {
      // Each proxy appends its own value: the first is what the client-facing proxy saw.
      const forwarded = this.#c.req.header('x-forwarded-proto')
      if (forwarded !== undefined) return forwarded.split(',')[0]?.trim().toLowerCase() === 'https'
    }
    // Request.url is always absolute with a lower-case scheme, so no URL parse is needed.
    return this.#c.req.url.startsWith('https:')
  }
  get cacheControl(): string | undefined {
    return this.#c.res.headers.get('cache-control') ?? undefined
  }
}

function fail(c: Context, status: number): void {
  // The replaced response may be a stream or a proxied body: release what feeds it.
  c.res.body?.cancel().catch(() => {})
  // Unset first: Hono's `c.res` setter would otherwise carry the old response's headers over.
  c.res = undefined
  c.res = new Response(status === 503 ? 'Service Unavailable' : 'Internal Server Error', {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}
