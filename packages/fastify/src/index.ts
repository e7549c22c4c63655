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
} from '@x/session-core'
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  RawServerBase,
  RouteGenericInterface,
} from 'fastify'
import fp from 'fastify-plugin'

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
 * Your session's shape, shared by every `request.session`. Extend it by declaration merging:
 * `declare module '@x/session-fastify' { interface SessionData { userId: string } }`
 */
export interface SessionData extends CoreSessionData {}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's session, loaded before any `preHandler` and handler run. */
    session: Session<SessionData>
  }
}

/** Core's options (or `{ manager }`, a manager you created to reach it from your code), plus `property`. */
export type FastifySessionOptions = ManagerSource<SessionData> & {
  /**
   * The request property the session is exposed on. Mount two sessions with different cookie
   * names under different properties to keep them apart (type the second one yourself).
   * @default 'session'
   */
  property?: string
}

type Slots = Record<string | symbol, unknown>
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>
type AnyReply = FastifyReply<RouteGenericInterface, RawServerBase>

// Any server (HTTP/1, HTTPS, HTTP/2): Nest's FastifyAdapter.register() asks for a plugin that takes them all.
const plugin: FastifyPluginAsync<FastifySessionOptions, RawServerBase> = async (app, options) => {
  const { property = 'session', ...source } = options
  const manager = resolveManager<SessionData>(source)
  // One slot per registration, so two mounted sessions never share a cycle.
  const kExchange = Symbol('session exchange')
  // Fastify 5 forbids reference-type decorations; null keeps the request's shape stable.
  app.decorateRequest(property, null)
  app.decorateRequest(kExchange, null)

  app.addHook('onRequest', (request, reply, done) => {
    const exchange = new Exchange(request, reply)
    const cycle = manager.begin(exchange, exchange)
    exchange.cycle = cycle
    const slots = request as unknown as Slots
    slots[kExchange] = exchange
    // A reply hijacked or written on reply.raw (Nest's @Sse()) never reaches onSend: once it is
    // over, a late commit lets the engine keep or report what the session still had to send.
    // Armed only once the session may have something to send.
    cycle.onChange(() => {
      reply.raw.once('close', () => {
        if (slots[kExchange] !== exchange || !exchange.sent) return
        slots[kExchange] = null
        // A failure is reported by the engine (onEvent): nothing is left to answer.
        cycle.commit(exchange).catch(() => {})
      })
    })
    // Callback style, so the rest of the request runs inside the session's async context (body
    // parsing needs nothing more: Fastify resumes the request in the async scope it was parsed
    // from), and in this same tick when the engine need not wait.
    const loaded = cycle.loadSync()
    if (loaded) {
      slots[property] = loaded
      cycle.run(done)
      return
    }
    cycle.load().then((later) => {
      slots[property] = later
      cycle.run(done)
    }, done)
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    const slots = request as unknown as Slots
    const exchange = slots[kExchange] as Exchange | null
    // onSend runs again for the error response when a commit (or a later onSend hook) throws:
    // the first pass committed or failed already, and its headers stay on the reply.
    if (!exchange?.cycle) return done(null, payload)
    const { cycle } = exchange
    slots[kExchange] = null
    const failed = (error: unknown) => {
      // Fastify keeps a status the handler chose (201, a redirect's 302) on the error response;
      // fail closed with the error's own status instead.
      reply.code(SessionError.is(error) ? error.status : 500)
      // The error response replaces the payload: release a stream nobody will read.
      ;(payload as { destroy?: () => void } | null)?.destroy?.()
      done(error as Error)
    }
    const apply = (result: CommitResult) => {
      try {
        if (result.setCookie.length > 0) {
          // getHeader also sees a Set-Cookie set on reply.raw, which Node's writeHead would replace
          // with Fastify's own list: carry it over, then append ours.
          const own = reply.getHeader('set-cookie')
          const kept = own === undefined ? [] : Array.isArray(own) ? own : [String(own)]
          reply.removeHeader('set-cookie')
          reply.header('set-cookie', [...kept, ...result.setCookie])
        }
        for (const [name, value] of result.headers) reply.header(name, value)
        if (result.cacheControl) reply.header('cache-control', result.cacheControl)
      } catch (error) {
        return failed(error)
      }
      done(null, payload)
    }
    let result: CommitResult | undefined
    try {
      // `request.session = null` (the logout idiom): core decides what a replaced session means.
      if (slots[property] !== cycle.session) cycle.assign(slots[property])
      result = cycle.commitSync(exchange)
    } catch (error) {
      return failed(error)
    }
    if (result) apply(result)
    else cycle.commit(exchange).then(apply, failed)
  })
}

/**
 * What the engine reads of a request and its reply, and the request's cycle: one object per
 * request. `secure` and `cacheControl` are asked only when a cookie goes out.
 */
class Exchange implements RequestInfo, ResponseInfo {
  readonly #request: AnyRequest
  readonly #reply: AnyReply
  readonly cookieHeader: string | undefined
  readonly headers: FastifyRequest['headers']
  cycle: SessionCycle<SessionData> | undefined = undefined
  constructor(request: AnyRequest, reply: AnyReply) {
    this.#request = request
    this.#reply = reply
    // Node joins repeated Cookie lines into one.
    this.headers = request.headers
    this.cookieHeader = request.headers.cookie
  }
  get secure(): boolean {
    // request.protocol honours X-Forwarded-Proto only under trustProxy: a client cannot claim HTTPS.
    return this.#request.protocol === 'https'
  }
  get cacheControl(): string | undefined {
    const value = this.#reply.getHeader('cache-control')
    return value === undefined ? undefined : String(value)
  }
  /** Hijacked, ended, or its head written on reply.raw: onSend will not (or did) run. */
  get sent(): boolean {
    return this.#reply.sent || this.#reply.raw.headersSent
  }
}

/**
 * Sealed sessions for Fastify 5: `app.register(session, { secret })`, then `request.session`.
 * Options are checked when the plugin registers, so a bad configuration fails `ready()`.
 */
export const session = fp(plugin, { fastify: '5.x', name: '@x/session-fastify' })
export default session
