/**
 * One request's session state (`SessionState`, which `session.ts` wraps): how it is made for a new
 * session and from a checked claim, and the small operations on it that every concern shares.
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { type Data, loadedData, nullData, type SessionState } from '../session.js'
import type { StoredSession } from '../store.js'
import { generateSessionId } from './ids.js'
import type { Lifetime } from './lifetime.js'
import type { Claim } from './session-token.js'
import { expiredReason } from './validity.js'

/** A claim that names no live session (expired, revoked, deleted): the request goes on without it. */
export const kEnded = Symbol('ended')

const NO_DATA: Data = Object.freeze(nullData())

/** A request's session state: a class, so every state has one shape and is cheap to make. */
export class State implements SessionState {
  onChange: (() => void) | undefined = undefined
  status: SessionState['status'] = 'active'
  failure: SessionError | undefined = undefined
  readOnly = false
  forceEmit = false
  forceRefresh = false
  pendingWrite = false
  dirty = false
  borrowed = false
  lifetime: Lifetime | undefined = undefined

  constructor(
    public id: string,
    public isNew: boolean,
    public createdAt: number,
    public refreshedAt: number,
    public data: Data,
    public snapshot: string | undefined,
    public version: number,
    public user: string | undefined,
    public keyId: string | undefined,
    public socket: boolean,
  ) {}
}

/** A new, empty session, as of `now`. */
export function freshState(now: number, socket: boolean): SessionState {
  // The id is drawn when first needed: most requests without a session never need one. The data
  // is one shared, frozen empty object until the first change gives the request its own.
  const state = new State('', true, now, now, NO_DATA, '{}', 0, undefined, undefined, socket)
  state.borrowed = true
  return state
}

/** The session a checked claim (and its record) make, or `kEnded` (reported) when its time is up. */
export function stateOf(
  opts: ResolvedOptions,
  claim: Claim,
  record: StoredSession | undefined,
  now: number,
  socket: boolean,
): SessionState | typeof kEnded {
  const user = record ? record.user : claim.user
  const createdAt = record ? record.createdAt : claim.createdAt
  const refreshedAt = record ? record.refreshedAt : claim.refreshedAt
  const expired = expiredReason(createdAt, refreshedAt, claim.lifetime, now, opts)
  if (expired) {
    opts.emit({ type: 'expired', reason: expired, cookie: opts.cookie.name })
    return kEnded
  }
  const source = record ? record.data : claim.data
  // A frozen source is shared: a cached unseal's, or a record a store's `peek` hands every reader.
  const shared = source !== undefined && Object.isFrozen(source) ? sharedData(source) : undefined
  const version = record ? record.version : 0
  const bound = typeof user === 'string' ? user : undefined
  const state = new State(
    claim.id,
    false,
    createdAt,
    refreshedAt,
    shared ? shared.data : loadedData(source),
    shared?.json,
    version,
    bound,
    claim.keyId,
    socket,
  )
  state.borrowed = shared !== undefined
  state.lifetime = claim.lifetime
  return state
}

/** The session id, drawn on first use. */
export function sessionIdOf(state: SessionState): string {
  if (state.id === '') state.id = generateSessionId()
  return state.id
}

/**
 * Session data made once per cached unseal (a frozen payload the sealer shares between the
 * requests that carry the same cookie), with its JSON: a request that only reads it copies and
 * serializes nothing. Entries go when the sealer forgets the token.
 */
const sharedByPayload = new WeakMap<object, { data: Data; json: string }>()

function sharedData(source: object): { data: Data; json: string } {
  let shared = sharedByPayload.get(source)
  if (shared === undefined) {
    const data = Object.freeze(loadedData(source))
    shared = { data, json: JSON.stringify(data) }
    sharedByPayload.set(source, shared)
  }
  return shared
}

export function serialize(data: Data): string {
  try {
    return JSON.stringify(data)
  } catch (cause) {
    throw new SessionError(
      SessionErrorCode.NOT_SERIALIZABLE,
      'session data must be JSON-serializable (no BigInt, no cycles)',
      {
        cause,
      },
    )
  }
}

export function isEmpty(data: Data): boolean {
  for (const _ in data) return false
  return true
}
