import type { IncomingMessage } from 'node:http'
import {
  type SessionData as CoreSessionData,
  type ManagerSource,
  resolveManager,
  type Session,
  type SessionManager,
} from '@x/session-core'
import type { RequestHandler } from 'express'
import { Exchange } from './exchange.js'
import { commitAtHead, deferHead } from './hold-response.js'
import { exposure } from './request-property.js'

export * from '@x/session-core'
// Explicit exports win over the star: these default to this package's SessionData.
export {
  createSessionManager,
  type Session,
  type SessionApi,
  type SessionCycle,
  type SessionManager,
} from './session-types.js'

/** Your session's shape: `declare module '@x/session-express' { interface SessionData { userId: string } }`. */
export interface SessionData extends CoreSessionData {}

declare global {
  namespace Express {
    interface Request {
      /** This request's session, loaded before your handlers run (mounted with the default `property`). */
      session: Session<SessionData>
    }
  }
}

/** Core's options (or `{ manager }`, one you built to reach it from your code), plus `property`. */
export type ExpressSessionOptions = ManagerSource<SessionData> & {
  /** Where the session is exposed: `req[property]`. Mount a second session (another cookie name) under another. @default 'session' */
  property?: string
}

/** The middleware, plus what WebSocket servers on the same HTTP server need. */
export type SessionMiddleware = RequestHandler & {
  /** The manager behind the middleware (`endUserSessions`, `listUserSessions`). */
  readonly manager: SessionManager<SessionData>
  /**
   * The session of a WebSocket upgrade request, which never passes through Express: call it in the
   * server's `upgrade` listener. `reload()` it in message handlers; `save()` persists a change.
   */
  upgrade(req: IncomingMessage): Promise<Session<SessionData>>
}

/** `app.use(session({ secret }))`: loads `req.session` before your handlers, commits it before the first byte. */
export function session(options: ExpressSessionOptions = {}): SessionMiddleware {
  const { property = 'session', ...source } = options
  const manager = resolveManager<SessionData>(source)
  const exposed = exposure(property)
  const handler: RequestHandler = (req, res, next) => {
    const exchange = new Exchange(req, res)
    const cycle = manager.begin(exchange, exchange)
    const slots = exposed.attach(req, cycle)
    // The response's methods are wrapped only once the session may have something to send: a
    // wrapped method costs every later call on the response, and most requests change nothing.
    // A change made after the head went out cannot reach this response.
    cycle.onChange(() => {
      if (res.headersSent) return
      if (cycle.syncCommit) commitAtHead(res, cycle, exchange)
      else deferHead(res, cycle, exchange)
    })
    // In this tick where nothing must be waited for, as Express would go on without a session.
    const loaded = cycle.loadSync()
    if (loaded) {
      slots[exposed.slot] = loaded
      cycle.run(next)
      return
    }
    cycle.load().then((later) => {
      slots[exposed.slot] = later
      cycle.run(next)
    }, next)
  }
  return Object.assign(handler, { manager, upgrade: (req: IncomingMessage) => manager.upgrade(req) })
}
