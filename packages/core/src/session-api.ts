// The session as handlers see it: its data's open interface, its API, and the names the API
// reserves. The object that implements it is in session.ts.

/**
 * Your session's shape. Extend it by declaration merging (each adapter re-exports an interface of
 * the same name that extends this one):
 * `declare module '@x/session-express' { interface SessionData { userId: string } }`
 */
// biome-ignore lint/suspicious/noEmptyInterface: an open interface, meant to be merged into
export interface SessionData {}

export type Callback = (err?: unknown) => void

/** The methods and metadata of a session; its data is reached through `get`/`set` or as properties. */
export interface SessionApi<D extends object = SessionData> {
  /** The session id (at least 128 random bits). Stable for the session's life, changed by `regenerate()`. */
  readonly id: string
  /** True until the session has been saved once: it did not come from the request. */
  readonly isNew: boolean
  readonly createdAt: Date
  /** When the session ends if nothing else happens: the earlier of the idle and absolute limits. */
  readonly expiresAt: Date
  get<K extends keyof D & string>(key: K): D[K] | undefined
  /** Sets a key; `undefined` deletes it. Writing the value a key already holds is not a change. */
  set<K extends keyof D & string>(key: K, value: D[K] | undefined): void
  delete(key: keyof D & string): void
  has(key: keyof D & string): boolean
  /** Removes every key; the session itself lives on (use `destroy()` to end it). */
  clear(): void
  /**
   * A new id and a new cookie, after the old server record is deleted: call it on login and on
   * privilege change. `keep: true` carries the data over, `keep: ['cart']` those keys only (an
   * array alone, as @fastify/session takes it, means the same). Also takes a Node-style callback.
   */
  regenerate(
    options?: { keep?: boolean | readonly (keyof D & string)[] } | readonly (keyof D & string)[],
  ): Promise<void>
  regenerate(callback: Callback): void
  regenerate(
    options: { keep?: boolean | readonly (keyof D & string)[] } | readonly (keyof D & string)[],
    callback: Callback,
  ): void
  /** Ends the session: deletes the server record now and clears the cookie on this response. */
  destroy(): Promise<void>
  destroy(callback: Callback): void
  /** Slides the idle window on this response even if nothing changed. */
  touch(): void
  /**
   * Binds the session to a user (call it after login, with a stable user id), so that
   * `manager.endUserSessions(user)` can end it: "log out everywhere". `undefined` unbinds.
   */
  bindUser(user: string | undefined): void
  /**
   * This session's own lifetime, kept in its seal and sent on this response: "remember me" on
   * login (`{ idleTimeout: 30 * 86400 }`), a shorter one for a shared computer, or
   * `{ browserSession: true }` for a cookie without `Max-Age`/`Expires`, which the browser drops
   * when it closes (the session still ends by its idle and absolute timeouts). Times are in
   * seconds and never exceed the configured `absoluteTimeout` (larger values are capped); fields
   * left out take the configured values, and `{}` goes back to them. Kept across `regenerate()`.
   */
  setLifetime(lifetime: { idleTimeout?: number; absoluteTimeout?: number; browserSession?: boolean }): void
  /** The user this session is bound to, if any. */
  readonly boundUser: string | undefined
  /**
   * Persists now (server stores), for work that outlives the response such as a WebSocket or a
   * stream. Over a WebSocket with the cookie store, a change is refused
   * (`ERR_SESSION_SOCKET_READ_ONLY`): no cookie can reach the client mid-connection; likewise once
   * a response went out without the session (`ERR_SESSION_RESPONSE_SENT`).
   */
  save(): Promise<void>
  save(callback: Callback): void
  /**
   * Reads the session again (server stores: from the store), dropping unsaved changes. A session
   * ended elsewhere meanwhile (a logout over HTTP, an expiry) is empty afterwards and stays ended.
   * Call it in a long-lived handler, such as a WebSocket message, before relying on the session.
   */
  reload(): Promise<void>
  reload(callback: Callback): void
  /**
   * Flash messages: `flash(key, value)` adds a message for the next request (a change, so the
   * session is sent); `flash(key)` returns the messages under `key` and removes them (read once;
   * removing is a change too, reading none is not); `flash()` returns and removes them all.
   */
  flash(key: string, value: unknown): void
  flash<T = unknown>(key: string): T[]
  flash(): Record<string, unknown[]>
  /** The data, as a plain object. */
  toJSON(): Partial<D>
}

/** The session as handlers see it: its API, and its data as typed optional properties. */
export type Session<D extends object = SessionData> = SessionApi<D> & Partial<Omit<D, keyof SessionApi<D>>>

/** Names the data can never take: they are the API. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  'id',
  'isNew',
  'createdAt',
  'expiresAt',
  'get',
  'set',
  'delete',
  'has',
  'clear',
  'regenerate',
  'destroy',
  'touch',
  'save',
  'toJSON',
  'then',
  'flash',
  'bindUser',
  'setLifetime',
  'boundUser',
  'reload',
])
