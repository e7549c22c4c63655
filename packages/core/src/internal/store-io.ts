/**
 * Everything the engine asks of the `SessionStore` and the `RevocationStore`: checking a claim
 * against them, versioned saves (a store's own `apply`, or re-reading and re-applying on conflict),
 * touches, deletes and revocations, and what a store failure does to the request. Each function
 * takes the options and the state it works on; none keeps anything between requests.
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { type Data, loadedData, nullData, type SessionState, snapshotOf } from '../session.js'
import type { PeekableStore, SessionChange, SessionStore, StoredSession } from '../store.js'
import type { Step } from './commit-plan.js'
import { isPlainObject } from './payload.js'
import { freshState, kEnded, serialize, sessionIdOf, stateOf } from './request-state.js'
import type { Claim } from './session-token.js'
import { expiresAt, isRevoked, revocationTtl, revokedFrom, storeTtl } from './validity.js'

/**
 * Re-reads and re-applies on version conflicts before giving up. Each round has one winner, so
 * many writers on one session need several rounds; jittered backoff spreads them out.
 */
const MAX_CONFLICT_RETRIES = 16
/** Upper bound of the random wait before a re-read, in milliseconds. */
const MAX_CONFLICT_BACKOFF = 64

/** The revocation subject of every session bound to `user` (see `RevocationStore`). */
export function userSubject(user: string): string {
  return `u:${user}`
}

/** The revocation subject of one cookie-store session, ended by `destroy()` or `regenerate()`. */
function sessionSubject(id: string): string {
  return `s:${id}`
}

export function storeError(cause: unknown, message = 'the session store is unavailable'): SessionError {
  return new SessionError(SessionErrorCode.STORE_UNAVAILABLE, message, {
    cause,
    status: 503,
  })
}

function isRecord(value: unknown): value is StoredSession {
  return (
    isPlainObject(value) &&
    isPlainObject(value.data) &&
    Number.isSafeInteger(value.createdAt) &&
    Number.isSafeInteger(value.refreshedAt) &&
    Number.isSafeInteger(value.version)
  )
}

/**
 * The store's synchronous answer for `id` (`PeekableStore.peek`: a store holding its records in this
 * process, like the memory store), when it has one that is a record; otherwise the load waits.
 */
export function peekRecord(store: SessionStore | undefined, id: string): StoredSession | undefined {
  try {
    const record = (store as Partial<PeekableStore> | undefined)?.peek?.(id)
    return isRecord(record) ? record : undefined
  } catch {
    return undefined
  }
}

/** The session of a request whose load failed on the store, by the `onStoreError` policy. */
export function storeFailed(
  opts: ResolvedOptions,
  error: unknown,
  now: number,
  socket: boolean,
): SessionState {
  opts.emit({ type: 'store-error', operation: 'get', error })
  const state = freshState(now, socket)
  if (opts.onStoreError === 'anonymous') {
    state.readOnly = true
  } else {
    state.status = 'failed'
    state.failure = storeError(error)
  }
  return state
}

/**
 * Checks a claim against the store, the revocations and the clock, and returns the session it
 * names, or `kEnded` (with the reason reported). Store errors are thrown as they are.
 */
export async function checkClaim(
  opts: ResolvedOptions,
  claim: Claim,
  now: number,
  socket: boolean,
): Promise<SessionState | typeof kEnded> {
  const { cookie, store, emit, revocations } = opts
  let record: StoredSession | undefined
  if (store) {
    record = await store.get(claim.id)
    if (!isRecord(record)) {
      emit({ type: 'invalid', reason: 'not-found', cookie: cookie.name })
      return kEnded
    }
  }
  if (revocations) {
    const user = record ? record.user : claim.user
    // Server stores end one session by deleting its record; only the cookie store needs `s:<id>`.
    const subjects =
      user === undefined ? [sessionSubject(claim.id)] : [sessionSubject(claim.id), userSubject(user)]
    if (store) subjects.shift()
    if (subjects.length > 0) {
      // One round trip for both subjects, whatever the store.
      const times = await revocations.get(subjects)
      if (isRevoked(record ? record.createdAt : claim.createdAt, times)) {
        emit({ type: 'revoked', cookie: cookie.name })
        return kEnded
      }
    }
  }
  const built = stateOf(opts, claim, record, now, socket)
  if (built === kEnded && store) {
    // Met an expired record: delete it now rather than wait for the store's ttl (X7).
    await store
      .delete(claim.id)
      .catch((error: unknown) => emit({ type: 'store-error', operation: 'delete', error }))
  }
  return built
}

/**
 * Ends the session the request carried, everywhere, before anything is sent: a server store
 * deletes its record; the cookie store, which holds nothing to delete, revokes its id when a
 * revocation store is configured (L9), so a copy of the cookie is no session either. Without one
 * only the browser's cookie is cleared (by the commit) and a copy stays valid until it expires.
 * A failure throws: a logout must never look done when it is not.
 */
export async function endSession(opts: ResolvedOptions, id: string, createdAt: number): Promise<void> {
  const { store, revocations, emit, clock } = opts
  if (store) {
    try {
      await store.delete(id)
    } catch (error) {
      emit({ type: 'store-error', operation: 'delete', error })
      throw storeError(error)
    }
    return
  }
  if (!revocations) return
  const now = clock()
  try {
    await revocations.set(
      sessionSubject(id),
      revokedFrom(createdAt, now),
      revocationTtl(createdAt, now, opts),
    )
  } catch (error) {
    emit({ type: 'store-error', operation: 'revoke', error })
    // A store's own refusal (it is full) keeps its code; anything else is an outage.
    throw SessionError.is(error)
      ? error
      : storeError(error, 'the revocation store is unavailable: the session was not ended')
  }
}

/** Slides the stored session's expiry without rewriting its data (a store without `touch` saves). */
async function touchSession(
  opts: ResolvedOptions,
  state: SessionState,
  expiresAt: number,
  now: number,
): Promise<void> {
  const { store, emit } = opts
  if (!store) return
  const ttl = storeTtl(expiresAt, now)
  try {
    if (store.touch) await store.touch(state.id, ttl, state.refreshedAt)
    else await persist(opts, state, snapshotOf(state), now)
  } catch (error) {
    emit({ type: 'store-error', operation: 'touch', error })
    throw storeError(error)
  }
}

/**
 * The store's part of a commit that sends the token: the session saved when it changed, is new or
 * has something else to write, touched when only a rolling refresh is due. False: the record was
 * deleted meanwhile (a logout elsewhere), and the response must clear the client's token.
 */
export async function storeCommit(opts: ResolvedOptions, state: SessionState, step: Step): Promise<boolean> {
  if (!opts.store) return true
  if (step.reason === 'changed' || state.isNew || state.pendingWrite)
    return persist(opts, state, step.json, step.now)
  if (step.reason === 'refresh') await touchSession(opts, state, step.expiresAt, step.now)
  return true
}

/**
 * The error a failed write ends the request with. A store that refuses the data (over its
 * `maxDataSize`) has answered, not failed: its error goes to the app as it is, not as a 503.
 */
function setFailed(opts: ResolvedOptions, error: unknown): SessionError {
  if (SessionError.is(error) && error.code === SessionErrorCode.TOO_LARGE) return error
  opts.emit({ type: 'store-error', operation: 'set', error })
  return storeError(error)
}

/**
 * Hands the store the keys this request changed, to merge into what it holds in one atomic
 * step: requests of one session that write at once never conflict, never re-read, never wait.
 */
async function apply(
  opts: ResolvedOptions,
  state: SessionState,
  json: string,
  now: number,
): Promise<boolean> {
  const ttl = storeTtl(expiresAt(state, opts), now)
  const change = changeOf(snapshotOf(state), state.data, state.refreshedAt)
  if (state.pendingWrite) change.bind = { user: state.user }
  let version: number | undefined
  try {
    version = await opts.store?.apply?.(sessionIdOf(state), change, { ttl })
  } catch (error) {
    throw setFailed(opts, error)
  }
  if (version === undefined) return false
  state.pendingWrite = false
  state.version = version
  state.snapshot = json
  return true
}

/**
 * Saves the session. A store with `apply` merges this request's changes itself; otherwise a
 * version-checked save that, on conflict, re-reads and re-applies only the keys this request
 * changed, so parallel requests writing different keys all persist. Returns false when the
 * record was deleted meanwhile (a logout): a slow request must not bring the session back.
 */
export async function persist(
  opts: ResolvedOptions,
  state: SessionState,
  json: string,
  now: number,
): Promise<boolean> {
  const { store, emit } = opts
  if (!store) return true
  if (store.apply && !state.isNew) return apply(opts, state, json, now)
  for (let attempt = 0; ; attempt++) {
    const ttl = storeTtl(expiresAt(state, opts), now)
    const record: StoredSession = {
      data: state.data,
      createdAt: state.createdAt,
      refreshedAt: state.refreshedAt,
      version: state.version + 1,
      ...(state.user === undefined ? {} : { user: state.user }),
    }
    let result: 'ok' | 'conflict'
    try {
      result = await store.set(sessionIdOf(state), record, { ttl, expectVersion: state.version })
    } catch (error) {
      throw setFailed(opts, error)
    }
    if (result === 'ok') {
      state.pendingWrite = false
      state.version += 1
      state.snapshot = json
      state.isNew = false
      return true
    }
    emit({ type: 'conflict', retries: attempt + 1 })
    if (attempt >= MAX_CONFLICT_RETRIES) {
      throw new SessionError(
        SessionErrorCode.STORE_UNAVAILABLE,
        'the session kept changing under this request; try again',
        { status: 503 },
      )
    }
    // Full jitter: writers that collided do not collide again in lockstep.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.random() * Math.min(2 ** attempt, MAX_CONFLICT_BACKOFF)),
    )
    let fresh: StoredSession | undefined
    try {
      fresh = await store.get(state.id)
    } catch (error) {
      emit({ type: 'store-error', operation: 'get', error })
      throw storeError(error)
    }
    if (!isRecord(fresh)) return false
    state.data = reapply(loadedData(fresh.data), snapshotOf(state), state.data)
    json = serialize(state.data)
    state.snapshot = JSON.stringify(loadedData(fresh.data))
    state.version = fresh.version
    state.createdAt = fresh.createdAt
  }
}

/** The top-level keys that differ between the loaded snapshot and `current`, as a store change. */
function changeOf(snapshot: string, current: Data, refreshedAt: number): SessionChange {
  const before = nullData(JSON.parse(snapshot) as object)
  const set: Data = nullData({})
  const remove: string[] = []
  for (const key of Object.keys(current)) {
    const value = current[key]
    if (value !== undefined && JSON.stringify(before[key]) !== JSON.stringify(value)) set[key] = value
  }
  for (const key of Object.keys(before)) if (current[key] === undefined) remove.push(key)
  return { set, remove, refreshedAt }
}

/** Applies to `base` the top-level keys that differ between the loaded snapshot and `current`. */
function reapply(base: Data, snapshot: string, current: Data): Data {
  const before = nullData(JSON.parse(snapshot) as object)
  for (const key of new Set([...Object.keys(before), ...Object.keys(current)])) {
    if (JSON.stringify(before[key]) === JSON.stringify(current[key])) continue
    if (current[key] === undefined) delete base[key]
    else base[key] = current[key]
  }
  return base
}
