import type { IncomingMessage, ServerResponse } from 'node:http'
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
import { parseSetCookie } from 'cookie'

export * from '@x/session-core'

/**
 * Your session's shape, for every `nextSession()` that names no other:
 * `declare module '@x/session-next' { interface SessionData { userId: string } }`
 */
export interface SessionData extends CoreSessionData {}

/**
 * The session as Next.js code sees it. `save()` sends what changed (the cookie, with the store
 * written first); `destroy()` ends the session and clears its cookies. Either may be called once per
 * request, after every change.
 */
export type NextSession<D extends object = SessionData> = Session<D>

/** The structural part of Next.js's cookie store (`await cookies()`) that this package uses. */
interface CookieStore {
  getAll(): Array<{ name: string; value: string }>
  set(options: Record<string, unknown> & { name: string; value: string }): unknown
}

/**
 * Reads (and, where Next.js allows, writes) the session of the current request:
 *
 * - `await getSession()` in a Server Action, Route Handler or Server Component, through
 *   `cookies()` from `next/headers`. A Server Component can read it; `save()` there throws
 *   `ERR_SESSION_COOKIES_READ_ONLY`, as Next.js forbids setting cookies while rendering.
 * - `await getSession(request, response)` in middleware (Edge or Node runtime) or wherever you hold
 *   a `Request` and the `Response` you will return: `save()` appends to `response.headers`.
 *   `getSession(request)` alone reads.
 * - `await getSession(req, res)` with the Node objects of a Pages Router API route or of
 *   `getServerSideProps`.
 *
 * Calls within one request (and one phase of it) share one session object.
 */
export interface GetSession<D extends object = SessionData> {
  (): Promise<NextSession<D>>
  (request: Request, response?: Response): Promise<NextSession<D>>
  (req: IncomingMessage, res: ServerResponse): Promise<NextSession<D>>
  /** The manager behind it: for `endUserSessions(user)` ("log out everywhere"). */
  readonly manager: SessionManager<D>
}

/**
 * Sessions for Next.js: `export const getSession = nextSession({ secret: process.env.SESSION_SECRET })`
 * in one module (say `lib/session.ts`), then `const session = await getSession()` where needed.
 * Create it once, at module scope: the manager keeps derived keys and an unseal cache.
 */
export function nextSession<D extends object = SessionData>(options: ManagerSource<D> = {}): GetSession<D> {
  const manager = resolveManager<D>(options)
  // One session per request, keyed on what Next.js hands every call in one request: the same
  // `headers()` object, the same Request, the same IncomingMessage.
  const loaded = new WeakMap<object, Promise<NextSession<D>>>()

  const getSession = (request?: Request | IncomingMessage, response?: Response | ServerResponse) => {
    if (request === undefined) return fromNextHeaders(manager, loaded)
    let pending = loaded.get(request)
    if (pending === undefined) {
      const target =
        request instanceof Request
          ? new FetchTarget(request, response as Response | undefined)
          : new NodeTarget(request, response as ServerResponse)
      pending = open(manager.begin(target), target)
      loaded.set(request, pending)
    }
    return pending
  }
  return Object.assign(getSession, { manager }) as GetSession<D>
}

async function fromNextHeaders<D extends object>(
  manager: SessionManager<D>,
  loaded: WeakMap<object, Promise<NextSession<D>>>,
): Promise<NextSession<D>> {
  // Imported here, not at the top: the Pages Router and middleware paths must not need it, and
  // `next/headers` throws when reached outside the App Router.
  const { cookies, headers } = await import('next/headers.js')
  // Keyed on the request's headers, one object for the whole request: the render that follows a
  // Server Action in the same request gets the session the action saved.
  const request = await headers()
  let pending = loaded.get(request)
  if (pending === undefined) {
    // Kept before anything else is awaited, so concurrent calls share it.
    pending = (async () => {
      const target = new AppTarget(request, (await cookies()) as unknown as CookieStore)
      return open(manager.begin(target), target)
    })()
    loaded.set(request, pending)
  }
  return pending
}

/** Where a request's session is read from and its commit written to. */
interface Target extends RequestInfo, ResponseInfo {
  /** Sends the commit's headers, or throws `ERR_SESSION_COOKIES_READ_ONLY` where that cannot be done. */
  write(result: CommitResult): void
}

/**
 * The App Router: reads the raw `Cookie` header of `headers()` and writes through the cookie store
 * of `cookies()`. Not read from the cookie store: Next.js percent-decodes its values and keeps one
 * of duplicate names, where core wants the bytes the browser sent (T3, T9).
 */
class AppTarget implements Target {
  readonly #store: CookieStore
  readonly headers: Headers
  readonly cookieHeader: string | undefined
  constructor(headers: Headers, store: CookieStore) {
    this.headers = headers
    this.cookieHeader = headers.get('cookie') ?? undefined
    this.#store = store
  }
  get secure(): boolean {
    // Next.js sets X-Forwarded-Proto from the connection when a proxy has not.
    return this.headers.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https'
  }
  write(result: CommitResult): void {
    if (result.headers.length > 0) {
      throw new SessionError(
        SessionErrorCode.UNSUPPORTED,
        'cookies() cannot set the token header: use getSession(request, response) for the tokenHeader transport',
      )
    }
    for (const header of result.setCookie) {
      const { name, value, sameSite, ...attributes } = parseSetCookie(header)
      try {
        this.#store.set({
          name,
          value: value ?? '',
          ...attributes,
          // Next.js writes SameSite as given; keep the spelling core chose ("Lax").
          ...(typeof sameSite === 'string'
            ? { sameSite: sameSite.charAt(0).toUpperCase() + sameSite.slice(1) }
            : {}),
        })
      } catch (cause) {
        // Next.js's cookie store refuses every write while a Server Component renders: the
        // response's headers may be gone by the time the component runs (streaming).
        throw readOnly('Next.js forbids setting cookies while a Server Component renders', cause)
      }
    }
  }
}

/** Middleware and any Fetch-API handler: a `Request`, and the `Response` that will be returned. */
class FetchTarget implements Target {
  readonly #request: Request
  readonly #response: Response | undefined
  readonly cookieHeader: string | undefined
  readonly headers: Headers
  constructor(request: Request, response: Response | undefined) {
    this.#request = request
    this.#response = response
    this.headers = request.headers
    this.cookieHeader = request.headers.get('cookie') ?? undefined
  }
  get secure(): boolean {
    return this.#request.url.startsWith('https:')
  }
  get cacheControl(): string | undefined {
    return this.#response?.headers.get('cache-control') ?? undefined
  }
  write({ setCookie, headers, cacheControl }: CommitResult): void {
    if (setCookie.length === 0 && headers.length === 0 && cacheControl === undefined) return
    const target = this.#response?.headers
    if (target === undefined) throw readOnly('getSession(request) reads only: pass the response to write to')
    try {
      for (const value of setCookie) target.append('set-cookie', value)
      for (const [name, value] of headers) target.set(name, value)
      if (cacheControl !== undefined) target.set('cache-control', cacheControl)
    } catch (cause) {
      // `Response.redirect()` and fetch() responses have immutable headers.
      throw readOnly(
        "the response's headers are immutable: use NextResponse.redirect() or a new Response",
        cause,
      )
    }
  }
}

/** The Pages Router: the Node request and response of an API route or of `getServerSideProps`. */
class NodeTarget implements Target {
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly cookieHeader: string | undefined
  readonly headers: IncomingMessage['headers']
  constructor(req: IncomingMessage, res: ServerResponse) {
    this.#req = req
    this.#res = res
    this.headers = req.headers
    this.cookieHeader = req.headers.cookie
  }
  get secure(): boolean {
    return (this.#req.socket as { encrypted?: boolean } | null)?.encrypted === true
  }
  get cacheControl(): string | undefined {
    const value = this.#res.getHeader('cache-control')
    return value === undefined ? undefined : String(value)
  }
  write({ setCookie, headers, cacheControl }: CommitResult): void {
    if (setCookie.length === 0 && headers.length === 0 && cacheControl === undefined) return
    if (this.#res.headersSent)
      throw readOnly('the response has been sent: save the session before responding')
    for (const value of setCookie) this.#res.appendHeader('set-cookie', value)
    for (const [name, value] of headers) this.#res.setHeader(name, value)
    if (cacheControl !== undefined) this.#res.setHeader('cache-control', cacheControl)
  }
}

function readOnly(why: string, cause?: unknown): SessionError {
  return new SessionError(SessionErrorCode.COOKIES_READ_ONLY, `The session cannot be saved here: ${why}.`, {
    cause,
  })
}

/**
 * Loads the session and gives it Next.js's commit point: an explicit `save()` (or `destroy()`), as
 * there is no hook at the end of a Server Action or Route Handler that could still set a cookie.
 * The core session's own methods stay as they are; only those two are replaced, through a Proxy.
 */
async function open<D extends object>(cycle: SessionCycle<D>, target: Target): Promise<NextSession<D>> {
  const session = cycle.loadSync() ?? (await cycle.load())
  let committed: 'saved' | 'destroyed' | undefined
  const commit = async (how: 'saved' | 'destroyed') => {
    // Nothing written after destroy() can bring the session back, so there is nothing more to send.
    if (committed === 'destroyed') return
    if (committed) {
      throw new SessionError(
        SessionErrorCode.INVALID_STATE,
        'save() and destroy() send the session once per request: make every change first, then call one of them.',
      )
    }
    committed = how
    if (how === 'destroyed') await session.destroy()
    target.write(cycle.commitSync(target) ?? (await cycle.commit(target)))
  }
  const save = () => commit('saved')
  const destroy = () => commit('destroyed')
  return new Proxy(session, {
    get(inner, key) {
      if (key === 'save') return save
      if (key === 'destroy') return destroy
      return Reflect.get(inner, key)
    },
    set: (inner, key, value) => Reflect.set(inner, key, value),
  })
}
