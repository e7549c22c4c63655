import type { SessionError } from '../errors.js'
import type { Lifetime } from './lifetime.js'

// What the engine keeps about one request's session, and the bookkeeping of its data: the
// snapshot a commit compares against, the copy a shared (cached) data object gets before a change,
// and the data as read from a seal or a store.

/** Where flash messages live inside the data: a reserved name, so no data key can collide with it. */
export const FLASH = 'flash'

export type Data = Record<string, unknown>

/** What the engine keeps about one request's session. Internal. */
export interface SessionState {
  id: string
  isNew: boolean
  createdAt: number
  refreshedAt: number
  data: Data
  /**
   * JSON of the data as loaded: anything that serializes differently at commit is a change. Taken
   * lazily, just before the first access that could change the data (see `dirty`), so a request
   * that only reads strings and numbers never serializes its session at all.
   */
  snapshot: string | undefined
  /**
   * Whether anything that could change the data happened: a write, or a read that handed out an
   * object (nested mutation is possible from then on). Once set it stays set for the request.
   */
  dirty: boolean
  /**
   * `data` is shared with other requests of the same cookie (a cached unseal) and frozen:
   * {@link markDirty} swaps in a copy of this request's own before anything could change it.
   */
  borrowed: boolean
  /** Store record version the data was read at (0: none). */
  version: number
  /** The user the session is bound to (per-user index, revocation). */
  user: string | undefined
  /** Key id the cookie was sealed under (rotation re-seals). */
  keyId: string | undefined
  /** This session's own lifetime (`setLifetime()`), sealed into its token; `undefined`: the configured one. */
  lifetime: Lifetime | undefined
  status: 'active' | 'destroyed' | 'failed'
  failure: SessionError | undefined
  /** Never saved (store failure with the 'anonymous' policy): the stored session is left alone. */
  readOnly: boolean
  /** Send the cookie on this response even if the data did not change (regenerate, touch). */
  forceEmit: boolean
  forceRefresh: boolean
  /** Something outside the data (the bound user) must reach the store. */
  pendingWrite: boolean
  /** A WebSocket's session: nothing can be sent to the client, so most changes are refused. */
  socket: boolean
  /** Called (once, then cleared) at the first change that may give the commit something to do. */
  onChange: (() => void) | undefined
}

/** The engine operations a session needs, implemented by the request cycle. */
export interface SessionHost {
  regenerate(state: SessionState, keep: boolean): Promise<void>
  /** Validates and applies `setLifetime()`; throws `ERR_SESSION_INVALID_OPTION` for bad values. */
  setLifetime(
    state: SessionState,
    lifetime: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  ): void
  destroy(state: SessionState): Promise<void>
  save(state: SessionState): Promise<void>
  reload(state: SessionState): Promise<void>
  expiresAt(state: SessionState): number
  /** The session id, drawn on first use. */
  idOf(state: SessionState): string
  /**
   * Throws SOCKET_READ_ONLY (a WebSocket's session) or RESPONSE_SENT (the response went out without
   * the session) when `state` cannot change there: nothing could carry the change to the client.
   */
  assertWritable(state: SessionState, what: string): void
}

/** The loaded data's JSON, taken now if no access could have changed the data yet. */
export function snapshotOf(state: SessionState): string {
  state.snapshot ??= JSON.stringify(state.data)
  return state.snapshot
}

/**
 * Call before anything that could change the data: keeps the snapshot as it was loaded, and gives
 * a request whose data was shared its own copy. Read `state.data` again after this call.
 */
export function markDirty(state: SessionState): void {
  if (state.dirty) return
  changing(state)
  // Taken now, while the data is still as loaded: the commit compares against it.
  snapshotOf(state)
  if (state.borrowed) {
    state.data = copyData(state.data)
    state.borrowed = false
  }
  state.dirty = true
}

/**
 * A request's own copy of shared data. Shared data is what a parse of JSON made (null-prototype at
 * the top, then plain objects, arrays and primitives), so a walk copies it exactly, in less time
 * than serializing and parsing it again.
 */
function copyData(shared: Data): Data {
  const data: Data = Object.create(null)
  for (const key of Object.keys(shared)) data[key] = copyJson(shared[key])
  return data
}

function copyJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson)
  const copy: Data = {}
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Data)[key])
    // As JSON.parse does: an own "__proto__" key is data, never the prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, writable: true, enumerable: true, configurable: true })
    else copy[key] = item
  }
  return copy
}

/** Tells whoever watches the session (see `SessionCycle.onChange`) that it may now change. */
export function changing(state: SessionState): void {
  const listener = state.onChange
  if (listener === undefined) return
  state.onChange = undefined
  listener()
}

/** A value handed out: an object can be mutated in place, so from then on the data may change. */
export function handOut(state: SessionState, key: string): unknown {
  const value = state.data[key]
  if (typeof value !== 'object' || value === null) return value
  markDirty(state)
  return state.data[key]
}

export function nullData(source?: object): Data {
  const data: Data = Object.create(null)
  if (source) {
    for (const key of Object.keys(source)) data[key] = (source as Data)[key]
  }
  return data
}

/**
 * Data as read from a seal or a store: null-prototype, and with a `flash` entry only when it has
 * the shape this library writes (key -> array), so a forged or foreign one is dropped.
 */
export function loadedData(source?: object): Data {
  const data = nullData(source)
  const flash = data[FLASH]
  if (flash !== undefined && !isFlashBox(flash)) delete data[FLASH]
  return data
}

function isFlashBox(value: unknown): value is Record<string, unknown[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  for (const key of Object.keys(value)) if (!Array.isArray((value as Data)[key])) return false
  return true
}
