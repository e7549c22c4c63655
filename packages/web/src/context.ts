/**
 * `getSession()` with no request at hand: a service function, a logger, a React Router loader
 * (whose `request` is a copy of the one the handler got). A subpath of its own, because it loads
 * `node:async_hooks`: the main entry stays Web-standard. Node, Bun and Deno have it; Cloudflare
 * Workers with the `nodejs_compat` compatibility flag.
 */
import type { Session } from '@x/session-core'
import { findSession as find, getSession as get } from '@x/session-core/context'
import type { SessionData } from './index.js'

/**
 * The session of the request being handled, typed with this package's `SessionData`. With several
 * sessions, the outermost one's, or the one whose cookie is `cookieName`. Throws a `SessionError`
 * with code `ERR_SESSION_NO_CONTEXT` outside a request that `withSession()` (or `run()`) handles.
 */
export const getSession: <D extends object = SessionData>(cookieName?: string) => Session<D> = get

/** Like `getSession()`, but `undefined` instead of throwing outside a request. */
export const findSession: <D extends object = SessionData>(cookieName?: string) => Session<D> | undefined =
  find
