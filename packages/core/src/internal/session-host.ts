/**
 * What the session's own methods do to a request's state (`SessionHost`, which `session.ts` calls):
 * `regenerate()`, `destroy()`, `reload()`, `save()`, `setLifetime()`, and the refusal of a change
 * nothing could carry to the client: the session of a WebSocket (no cookie reaches a client
 * mid-connection), or of a response that went out without the session (a hijacked or raw-written
 * reply). Functions of the options, the state and the response (read at each change, as
 * `ResponseInfo.sent` may be a getter): the cycle holds no per-request object for them.
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { ResponseInfo } from '../manager.js'
import type { ResolvedOptions } from '../options.js'
import { markDirty, nullData, type SessionState, snapshotOf } from '../session.js'
import { generateSessionId } from './ids.js'
import { requestedLifetime, sameLifetime } from './lifetime.js'
import { freshState, kEnded, serialize } from './request-state.js'
import { reloadClaim } from './session-token.js'
import { checkClaim, endSession, persist, storeError } from './store-io.js'

/** The response went out past the adapter's commit point: nothing can reach the client any more. */
export function isSent(response: ResponseInfo | undefined): boolean {
  return response?.sent === true
}

export function assertWritable(
  opts: ResolvedOptions,
  state: SessionState,
  what: string,
  response: ResponseInfo | undefined,
): void {
  if (!state.socket && !isSent(response)) return
  if (opts.store && !state.isNew && state.status === 'active') return
  throw writeRefusal(what, state.socket, opts.store !== undefined)
}

/** Validates and applies `setLifetime()`; throws `ERR_SESSION_INVALID_OPTION` for bad values. */
export function setLifetime(
  opts: ResolvedOptions,
  state: SessionState,
  request: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  response: ResponseInfo | undefined,
): void {
  const lifetime = requestedLifetime(request, opts.absoluteMs)
  if (typeof lifetime === 'string')
    throw new SessionError(SessionErrorCode.INVALID_OPTION, `setLifetime(): ${lifetime}`)
  assertWritable(opts, state, 'change the lifetime', response)
  if (sameLifetime(lifetime, state.lifetime)) return
  state.lifetime = lifetime
  // A new lifetime is a new seal (it lives in the token) and, with a server store, a new ttl.
  state.forceEmit = true
  state.pendingWrite = true
}

/** Ends the session the request carried (store, revocation), then makes `state` a new one. */
export async function regenerate(
  opts: ResolvedOptions,
  state: SessionState,
  keep: boolean,
  response: ResponseInfo | undefined,
): Promise<void> {
  if (state.socket || isSent(response)) throw regenerateRefusal(state.socket)
  if (!state.isNew && state.status === 'active') await endSession(opts, state.id, state.createdAt)
  const now = opts.clock()
  state.id = generateSessionId()
  state.isNew = true
  state.version = 0
  state.createdAt = now
  state.refreshedAt = now
  state.status = 'active'
  state.forceEmit = true
  if (!keep) {
    markDirty(state)
    state.data = nullData()
  }
}

export async function destroy(
  opts: ResolvedOptions,
  state: SessionState,
  response: ResponseInfo | undefined,
): Promise<void> {
  // Over a socket a server record can end (logout), but a cookie-store session could not be cleared.
  if ((state.socket || isSent(response)) && !opts.store) assertWritable(opts, state, 'destroy()', response)
  if (!state.isNew && state.status === 'active') await endSession(opts, state.id, state.createdAt)
  ended(state)
}

/** Marks `state` ended: the commit clears the client's token. */
export function ended(state: SessionState): void {
  state.status = 'destroyed'
  // Like a session ended elsewhere and then reloaded: it holds nothing stored any more.
  state.isNew = true
  markDirty(state)
  state.data = nullData()
}

export async function reload(opts: ResolvedOptions, state: SessionState): Promise<void> {
  if (state.isNew || state.status !== 'active' || state.readOnly) return
  const now = opts.clock()
  const claim = reloadClaim(state)
  let next: SessionState | typeof kEnded
  try {
    next = await checkClaim(opts, claim, now, state.socket)
  } catch (error) {
    opts.emit({ type: 'store-error', operation: 'get', error })
    throw storeError(error)
  }
  if (next === kEnded) {
    // Ended elsewhere (a logout, an expiry): empty from now on, and nothing brings it back.
    Object.assign(state, freshState(now, state.socket), { status: 'destroyed' })
    return
  }
  Object.assign(state, next)
}

/** Persists what changed now (server stores); the commit then sends the token with the new expiry. */
export async function save(
  opts: ResolvedOptions,
  state: SessionState,
  response: ResponseInfo | undefined,
): Promise<void> {
  const { store, clock } = opts
  if (state.status !== 'active' || state.readOnly) return
  const json = state.dirty ? serialize(state.data) : undefined
  const changed = (json !== undefined && json !== snapshotOf(state)) || state.pendingWrite
  if (state.socket || isSent(response)) {
    if (!changed) return
    assertWritable(opts, state, 'save a change', response)
  }
  if (!store || (!changed && !state.isNew)) return
  const now = clock()
  state.refreshedAt = now
  if (!(await persist(opts, state, json ?? snapshotOf(state), now))) {
    state.status = 'destroyed'
    return
  }
  // The browser needs the cookie with the new expiry; commit sends it.
  state.forceEmit = true
}

/** Refuses `what` (`'save a change'`, `'destroy()'`...) on a socket's session or after the response went out. */
function writeRefusal(what: string, socket: boolean, serverStore: boolean): SessionError {
  if (!socket) {
    return new SessionError(
      SessionErrorCode.RESPONSE_SENT,
      serverStore
        ? `cannot ${what} after the response went out without the session (a hijacked or raw-written reply, such as a stream): this request carried no live session to change; change it before the response starts`
        : `cannot ${what} after the response went out without the session (a hijacked or raw-written reply, such as a stream): no cookie can reach the client any more; change it before the response starts, or use a server store and save()`,
    )
  }
  return new SessionError(
    SessionErrorCode.SOCKET_READ_ONLY,
    serverStore
      ? `cannot ${what} over this WebSocket: the upgrade request carried no live session, and no cookie can reach the client mid-connection; change it over HTTP`
      : `cannot ${what} over a WebSocket with the cookie store: no cookie can reach the client mid-connection; change it over HTTP, or use a server store`,
  )
}

/** Refuses `regenerate()` where its new id could never reach the client, whatever the store. */
function regenerateRefusal(socket: boolean): SessionError {
  return socket
    ? new SessionError(
        SessionErrorCode.SOCKET_READ_ONLY,
        'cannot regenerate() over a WebSocket: the new id could never reach the client; regenerate over HTTP',
      )
    : new SessionError(
        SessionErrorCode.RESPONSE_SENT,
        'cannot regenerate() after the response went out without the session: the new id could never reach the client; regenerate before the response starts',
      )
}
