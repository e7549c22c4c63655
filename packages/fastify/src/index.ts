import {
  type CommitResult,
  type SessionData as CoreSessionData,
  type ManagerSource,
  resolveManager,
  type Session,
  type SessionCycle,
  SessionError,
} from '@x/session-core'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

export * from '@x/session-core'

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

const plugin: FastifyPluginAsync<FastifySessionOptions> = async (app, options) => {
  const { property = 'session', ...source } = options
  const manager = resolveManager<SessionData>(source)
  // One slot per registration, so two mounted sessions never share a cycle.
  const kCycle = Symbol('session cycle')
  // Fastify 5 forbids reference-type decorations; null keeps the request's shape stable.
  app.decorateRequest(property, null)
  app.decorateRequest(kCycle, null)

  app.addHook('onRequest', (request, _reply, done) => {
    // Node joins repeated Cookie lines into one; request.protocol honours X-Forwarded-Proto only
    // under trustProxy, so a client cannot claim HTTPS by itself.
    const cycle = manager.begin({
      cookieHeader: request.headers.cookie,
      secure: request.protocol === 'https',
      headers: request.headers,
    })
    const slots = request as unknown as Slots
    slots[kCycle] = cycle
    // Callback style, so the rest of the request runs inside the session's async context (body
    // parsing needs nothing more: Fastify resumes the request in the async scope it was parsed
    // from), and in this same tick when the engine need not wait.
    const expose = (loaded: Session<SessionData>) => {
      slots[property] = loaded
      cycle.run(done)
    }
    const loaded = cycle.loadSync()
    if (loaded) expose(loaded)
    else cycle.load().then(expose, done)
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    const slots = request as unknown as Slots
    const cycle = slots[kCycle] as SessionCycle<SessionData> | null
    // onSend runs again for the error response when a commit (or a later onSend hook) throws:
    // the first pass committed or failed already, and its headers stay on the reply.
    if (!cycle) return done(null, payload)
    slots[kCycle] = null
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
    const cacheControl = reply.getHeader('cache-control')
    const response = { cacheControl: cacheControl === undefined ? undefined : String(cacheControl) }
    let result: CommitResult | undefined
    try {
      result = cycle.commitSync(response)
    } catch (error) {
      return failed(error)
    }
    if (result) apply(result)
    else cycle.commit(response).then(apply, failed)
  })
}

/**
 * Sealed sessions for Fastify 5: `app.register(session, { secret })`, then `request.session`.
 * Options are checked when the plugin registers, so a bad configuration fails `ready()`.
 */
export const session = fp(plugin, { fastify: '5.x', name: '@x/session-fastify' })
export default session
