/**
 * `getSession()` from anywhere in a request (a service layer, a logger), through the runtime's
 * async context: Node, Bun and Deno have `AsyncLocalStorage`, Cloudflare Workers with the
 * `nodejs_compat` flag too. A subpath of its own, so that the main entry stays Web-standard.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { SessionError, SessionErrorCode } from './errors.js'
import { type ContextRunner, kContextRunner } from './internal/context-key.js'
import type { SessionCycle } from './manager.js'
import type { Session, SessionData } from './session.js'

/** The cycles of the session middlewares a request has passed through, outermost first. */
type Frame = readonly SessionCycle<object>[]

interface Registry extends ContextRunner {
  storage: AsyncLocalStorage<Frame>
}

const slot = globalThis as Record<symbol, Registry | undefined>

function register(): Registry {
  const existing = slot[kContextRunner]
  if (existing?.storage) return existing
  const storage = new AsyncLocalStorage<Frame>()
  const registry: Registry = {
    storage,
    run(cycle, fn) {
      const outer = storage.getStore()
      return storage.run(outer ? [...outer, cycle] : [cycle], fn)
    },
  }
  slot[kContextRunner] = registry
  return registry
}

const { storage } = register()

/**
 * The session of the request being handled, wherever this is called from within it. With several
 * session middlewares mounted, the first one's, or the one whose cookie is `cookieName`.
 * Throws `ERR_SESSION_NO_CONTEXT` outside a request that a session middleware is handling.
 */
export function getSession<D extends object = SessionData>(cookieName?: string): Session<D> {
  const session = findSession<D>(cookieName)
  if (!session) {
    const frame = storage.getStore()
    throw new SessionError(
      SessionErrorCode.NO_CONTEXT,
      frame
        ? `no session named ${JSON.stringify(cookieName)} in this request; mounted: ${frame.map((c) => c.cookieName).join(', ')}`
        : 'getSession() was called outside a request handled by a session middleware',
    )
  }
  return session
}

/** Like `getSession()`, but `undefined` instead of throwing outside a request. */
export function findSession<D extends object = SessionData>(cookieName?: string): Session<D> | undefined {
  const frame = storage.getStore()
  const cycle = cookieName === undefined ? frame?.[0] : frame?.find((c) => c.cookieName === cookieName)
  return cycle?.session as Session<D> | undefined
}
