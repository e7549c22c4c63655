import { deepFreeze } from './internal/unseal-cache.js'

/** What a server-side store keeps for one session. Times are epoch milliseconds. */
export interface StoredSession {
  /** The session's data, as plain JSON. */
  data: Record<string, unknown>
  /** When the session was created (ms). The absolute timeout counts from here. */
  createdAt: number
  /** Last time the session was written or refreshed (ms). The idle timeout counts from here. */
  refreshedAt: number
  /** Incremented by the store on every successful `set`; used for version-checked saves. */
  version: number
  /** The user this session is bound to, for the per-user index ("log out everywhere"). */
  user?: string
}

export interface StoreSetOptions {
  /** Seconds until the store itself may forget the record (the session's remaining lifetime). */
  ttl: number
  /**
   * When given, the write happens only if the stored version equals this number (0: the record
   * must not exist). Otherwise the store answers `'conflict'` and changes nothing.
   */
  expectVersion?: number
}

/** One request's change to a stored session, for `SessionStore.apply`. */
export interface SessionChange {
  /** Top-level keys the request set, with their new values (plain JSON). */
  set: Readonly<Record<string, unknown>>
  /** Top-level keys the request removed. */
  remove: readonly string[]
  /** The session's new `refreshedAt` (ms). */
  refreshedAt: number
  /** Present when the request bound the session to a user (`user: undefined`: unbound it). */
  bind?: { user: string | undefined }
}

/** Guarantees of a `SessionStore` that no method's presence declares (see `SessionStore.unsupported`). */
export type StoreCapability =
  /**
   * `set` honours `expectVersion` atomically, whatever process writes: a stale version is a
   * `'conflict'` and changes nothing (S3). A store without it lets the last write win; the engine
   * then never meets a conflict, and requests of one session that write at once can lose each
   * other's changes unless the store's `apply` merges them.
   */
  'versionedSet'

/**
 * Where server-side sessions live. Every method receives ids this library issued and validated.
 * Implementations: the bundled `memoryStore()`, `@x/session-redis`, or your own (check it with
 * `describeStoreConformance` from `@x/session-conformance-tests`).
 */
export interface SessionStore {
  get(id: string): Promise<StoredSession | undefined>
  /** Writes the record; the stored `version` becomes `session.version`. */
  set(id: string, session: StoredSession, opts: StoreSetOptions): Promise<'ok' | 'conflict'>
  delete(id: string): Promise<void>
  /**
   * Applies one request's change to the live record in a single atomic step (one round trip):
   * the keys in `change.set` written, those in `change.remove` deleted, every other key left as
   * the store has it, `refreshedAt` and the ttl (seconds) updated, the version bumped. Returns the
   * new version, or `undefined` when no live record exists (nothing is written: a session ended
   * meanwhile stays ended). Rejects with `ERR_SESSION_TOO_LARGE` when the merged data would
   * exceed the store's limit. With it, requests of one session that write at once never conflict;
   * without it the engine falls back to version-checked `set`s, re-applying on a conflict.
   */
  apply?(id: string, change: SessionChange, opts: { ttl: number }): Promise<number | undefined>
  /** Extends the record's ttl (seconds) and sets `refreshedAt`, without rewriting its data. */
  touch?(id: string, ttl: number, refreshedAt: number): Promise<void>
  /**
   * Guarantees this store cannot give, each with the reason, so that callers (and the store
   * suite, which reports those cases as not supported by the store) know not to rely on them.
   * What a missing method already says (no `apply`, no `listByUser`) is not repeated here.
   */
  readonly unsupported?: Readonly<Partial<Record<StoreCapability, string>>>
  /** Ids of the live sessions bound to `user`. */
  listByUser?(user: string): Promise<string[]>
  /** Deletes every session bound to `user`; returns how many were deleted. */
  deleteByUser?(user: string): Promise<number>
}

/**
 * "Not before" times, for ending cookie-store sessions the server does not hold: a token whose
 * session was created before the time kept for one of its subjects is no session. The engine's
 * subjects are `u:<user>` (every session bound to a user: "log out everywhere") and `s:<id>` (one
 * session, ended by `destroy()` or `regenerate()`); a store treats them as opaque strings.
 *
 * A revocation must never be forgotten before its ttl ends: a store that cannot keep one more
 * rejects `set` (the caller learns the logout did not take) rather than dropping an older entry,
 * which would bring those sessions back.
 */
export interface RevocationStore {
  /**
   * The times (epoch ms) kept for `subjects`, in the same order, `undefined` where none is kept or
   * it has expired. Called with one or two subjects per request: answer in one round trip.
   */
  get(subjects: readonly string[]): Promise<ReadonlyArray<number | undefined>>
  /**
   * Keeps `notBefore` for `subject` for `ttl` seconds (the longest any earlier token could live).
   * A time already kept is never lowered, and its ttl never shortened.
   */
  set(subject: string, notBefore: number, ttl: number): Promise<void>
}

/**
 * An optional capability of a store that holds records in this process (`memoryStore()`): the
 * record `get` would give, answered without waiting, or `undefined` whenever the answer needs `get`
 * (not held here, expired, anything unusual). The engine then loads a session in the request's own
 * tick, with no promise. The record and its `data` may be shared between calls and frozen: callers
 * never change them. Kept apart from {@link SessionStore} so that stores typed against all of its
 * methods need not declare it.
 */
export interface PeekableStore {
  peek(id: string): StoredSession | undefined
}

/**
 * A record that `PeekableStore.peek` can hand every reader: the record and everything in its data
 * frozen, so no request can change what the next one reads (the engine copies the data only when
 * its request changes the session). Returns the same object.
 */
export function freezeRecord(record: StoredSession): Readonly<StoredSession> {
  deepFreeze(record.data)
  return Object.freeze(record)
}
