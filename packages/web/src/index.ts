import {
  type CommitResult,
  type SessionData as CoreSessionData,
  type ManagerSource,
  type RequestInfo,
  type ResponseInfo,
  resolveManager,
  type Session,
  type SessionCycle,
  SessionError,
  SessionErrorCode,
  type SessionManager,
} from '@x/session-core'

export * from '@x/session-core'

/**
 * Your session's shape, the default type of `getSession(request)`. Extend it by declaration merging:
 * `declare module '@x/session-web' { interface SessionData { userId: string } }`
 */
export interface SessionData extends CoreSessionData {}

/** What `withSession()` accepts besides core's options. */
export interface WrapOptions {
  /**
   * Turns an error the handler throws into the response, which then carries the session's cookie
   * (a change made before the throw is sent; `getSession()` works in here too). Without it the
   * session is saved and the error rethrown to the runtime, whose error response has no cookie.
   * @default undefined
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>
}

/** Core's options, or `{ manager }` (a manager you created, to reach it from your code). */
export type WebSessionOptions<D extends object = SessionData> = ManagerSource<D>

/** One request's session, between `load()` and `commit()`: for frameworks that own the handler. */
export interface RequestSession<D extends object = SessionData> {
  /** The loaded session; also `getSession(request)` for the same `Request` object. */
  readonly session: Session<D>
  /** Runs `fn` (the rest of the request) so that `getSession()` from `/context` finds this session. */
  run<T>(fn: () => T): T
  /**
   * Saves what changed and returns `response` carrying the session's headers: the same object, or
   * a copy when its headers are immutable (`Response.redirect()`, `fetch()`). A save that fails
   * answers a plain error response of the `SessionError`'s status (503 for a store outage) instead.
   */
  commit(response: Response): Promise<Response>
}

export interface WebSession<D extends object = SessionData> {
  /** The manager behind these sessions (`endUserSessions`, `listUserSessions`). */
  readonly manager: SessionManager<D>
  /** Loads the session of `request` (never rejects: a bad cookie is a new session). */
  load(request: Request): Promise<RequestSession<D>>
  /** `withSession(handler)` with these sessions. */
  wrap<Q extends Request, A extends unknown[], R extends Response | undefined>(
    handler: (request: Q, ...rest: A) => R | Promise<R>,
    options?: WrapOptions,
  ): (request: Q, ...rest: A) => Promise<R | Response>
}

/**
 * The cycles loaded for each request, outermost first, kept on the `Request` itself under a global
 * symbol (so the ESM and CommonJS builds, or two installed copies, find each other's). Not a
 * WeakMap keyed by the request: its entries cost the garbage collector about 10 µs of CPU per
 * request on Node 20 (an untouched request took 21 µs instead of 11 µs through `withSession()`,
 * `process.cpuUsage()` over 100,000 requests, against 10 µs for a wrapper that does nothing).
 * The WeakMap remains for a `Request` that takes no property (a frozen one).
 */
const kFrames = Symbol.for('@x/session-web.frames')
type Frames = SessionCycle<object>[]
const fallback = new WeakMap<Request, Frames>()

function framesOf(request: Request): Frames | undefined {
  return (request as unknown as Record<symbol, Frames | undefined>)[kFrames] ?? fallback.get(request)
}

function addFrame(request: Request, cycle: SessionCycle<object>): void {
  const list = framesOf(request)
  if (list) {
    list.push(cycle)
    return
  }
  try {
    ;(request as unknown as Record<symbol, Frames>)[kFrames] = [cycle]
  } catch {
    fallback.set(request, [cycle])
  }
}

/**
 * Sessions for Fetch handlers: `load(request)` and `commit(response)` for frameworks that own the
 * handler (SvelteKit `handle`, Astro middleware), `wrap(handler)` for a whole handler.
 */
export function createWebSession<D extends object = SessionData>(
  options: WebSessionOptions<D> = {},
): WebSession<D> {
  const manager = resolveManager<D>(options)

  const begin = (request: Request) => {
    const exchange = new Exchange(request)
    const cycle = manager.begin(exchange)
    addFrame(request, cycle as SessionCycle<object>)
    return { cycle, exchange }
  }

  return {
    manager,
    async load(request) {
      const { cycle, exchange } = begin(request)
      const session = cycle.loadSync() ?? (await cycle.load())
      return {
        session,
        run: (fn) => cycle.run(fn),
        commit: async (response) => finish(cycle, exchange, response),
      }
    },
    wrap<Q extends Request, A extends unknown[], R extends Response | undefined>(
      handler: (request: Q, ...rest: A) => R | Promise<R>,
      { onError }: WrapOptions = {},
    ) {
      return async function withSession(this: unknown, request: Q, ...rest: A): Promise<R | Response> {
        const { cycle, exchange } = begin(request)
        if (cycle.loadSync() === undefined) await cycle.load()
        let response: R | Response
        try {
          // `this` passes through: Bun calls `fetch` with its server as `this`.
          response = (await cycle.run(() => handler.call(this, request, ...rest))) as R
        } catch (error) {
          let answer: Response | undefined
          if (onError) {
            try {
              answer = await cycle.run(() => onError(error, request))
            } catch (again) {
              await settle(cycle, exchange)
              throw again
            }
          }
          // A session that could not be used (store down) fails closed with its own status.
          if (SessionError.is(error) && answer?.status !== error.status) {
            release(answer)
            answer = failure(error.status)
          }
          if (answer === undefined) {
            // No response to carry the cookie: save what changed (as Koa and Hono do), then let the
            // runtime answer the error.
            await settle(cycle, exchange)
            throw error
          }
          response = answer
        }
        // No response: Bun's `server.upgrade()` took the request over. A socket's session sends
        // nothing, but what changed is saved.
        if (response == null) {
          await cycle.commit(exchange)
          return response
        }
        return finish(cycle, exchange, response)
      }
    },
  }
}

/**
 * Wraps a whole Fetch handler: loads the session before `handler` runs (`getSession(request)`
 * inside it), and saves it after, returning the handler's response with the session's headers.
 * `Bun.serve({ fetch: withSession(handler, { secret }) })`, `Deno.serve(withSession(...))`,
 * `export default { fetch: withSession(...) }` on Cloudflare Workers.
 */
export function withSession<Q extends Request, A extends unknown[], R extends Response | undefined>(
  handler: (request: Q, ...rest: A) => R | Promise<R>,
  options: WebSessionOptions & WrapOptions = {},
): (request: Q, ...rest: A) => Promise<R | Response> {
  const { onError, ...source } = options as WrapOptions & Record<string, unknown>
  return createWebSession(source as WebSessionOptions).wrap(handler, { onError })
}

/**
 * The session of `request` (the `Request` object a wrapped handler or `load()` was given). With
 * several sessions, the outermost one's, or the one whose cookie is `cookieName`. Throws a
 * `SessionError` with code `ERR_SESSION_NO_CONTEXT` for a request no session was loaded for.
 */
export function getSession<D extends object = SessionData>(
  request: Request,
  cookieName?: string,
): Session<D> {
  const session = findSession<D>(request, cookieName)
  if (session === undefined) {
    throw new SessionError(
      SessionErrorCode.NO_CONTEXT,
      framesOf(request)
        ? `no session named ${JSON.stringify(cookieName)} for this request`
        : 'no session was loaded for this Request object: pass the one withSession() or load() was given',
    )
  }
  return session
}

/** Like `getSession(request)`, but `undefined` instead of throwing. */
export function findSession<D extends object = SessionData>(
  request: Request,
  cookieName?: string,
): Session<D> | undefined {
  const list = framesOf(request)
  const cycle = cookieName === undefined ? list?.[0] : list?.find((c) => c.cookieName === cookieName)
  return cycle?.session as Session<D> | undefined
}

/**
 * What the engine reads of the request and the response. `secure` and `cacheControl` are getters,
 * asked only when a cookie goes out; a class, so every request's exchange has one hidden class.
 */
class Exchange implements RequestInfo, ResponseInfo {
  readonly #request: Request
  readonly cookieHeader: string | undefined
  readonly headers: Headers
  response: Response | undefined = undefined
  constructor(request: Request) {
    this.#request = request
    this.headers = request.headers
    // Node (undici), Bun, Deno and workerd join repeated Cookie lines with "; " (the runtime smoke
    // checks it), which core parses as one header. Splitting on ',' would let a value holding
    // ", name=..." (tossed by a sibling subdomain) pose as a `__Host-` session.
    this.cookieHeader = request.headers.get('cookie') ?? undefined
  }
  get secure(): boolean {
    // Request.url is always absolute with a lower-case scheme, so no URL parse is needed.
    return this.#request.url.startsWith('https:')
  }
  get cacheControl(): string | undefined {
    return this.response?.headers.get('cache-control') ?? undefined
  }
}

/** Commits and returns `response` with the session's headers, or the error response a failed save is. */
function finish<D extends object>(
  cycle: SessionCycle<D>,
  exchange: Exchange,
  response: Response,
): Response | Promise<Response> {
  exchange.response = response
  let sync: CommitResult | undefined
  try {
    sync = cycle.commitSync(exchange)
  } catch (error) {
    return failed(response, error)
  }
  if (sync !== undefined) return applyTo(response, sync)
  return cycle.commit(exchange).then(
    (result) => applyTo(response, result),
    (error) => failed(response, error),
  )
}

/** A save that failed is an error response, never a success without the cookie. */
function failed(response: Response, error: unknown): Response {
  if (!SessionError.is(error)) throw error
  release(response)
  return failure(error.status)
}

/** Saves what changed where no response can carry it; the caller's error is what gets reported. */
async function settle<D extends object>(cycle: SessionCycle<D>, exchange: Exchange): Promise<void> {
  try {
    await cycle.commit(exchange)
  } catch {
    // The store failure is reported through `onEvent`; the handler's error is the one to rethrow.
  }
}

function applyTo(response: Response, { setCookie, headers: more, cacheControl }: CommitResult): Response {
  if (setCookie.length === 0 && more.length === 0 && cacheControl === undefined) return response
  const write = (headers: Headers) => {
    for (const value of setCookie) headers.append('set-cookie', value)
    for (const [name, value] of more) headers.set(name, value)
    if (cacheControl !== undefined) headers.set('cache-control', cacheControl)
  }
  try {
    write(response.headers)
    return response
  } catch {
    // Responses from fetch() and Response.redirect() have immutable headers: copy, then write. The
    // body is handed over as the stream it is, never read into memory.
    const { body, status, statusText, headers } = response
    const copy = new Response(body, { status, statusText, headers: new Headers(headers) })
    write(copy.headers)
    return copy
  }
}

/** The replaced response may be a stream or a proxied body: release what feeds it. */
function release(response: Response | undefined): void {
  response?.body?.cancel().catch(() => {})
}

function failure(status: number): Response {
  return new Response(status === 503 ? 'Service Unavailable' : 'Internal Server Error', {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}
