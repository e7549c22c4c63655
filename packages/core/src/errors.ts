/** Every error this library throws carries one of these codes; messages are for people, codes are for code. */
export const SessionErrorCode = {
  /** A configuration option is missing or invalid (thrown at construction). */
  INVALID_OPTION: 'ERR_SESSION_INVALID_OPTION',
  /** A secret is shorter than 32 characters, empty, duplicated, or its key id is not `/^\w+$/`. */
  INVALID_SECRET: 'ERR_SESSION_INVALID_SECRET',
  /** A cookie name, value or attribute cannot be sent as a valid `Set-Cookie` header. */
  INVALID_COOKIE: 'ERR_SESSION_INVALID_COOKIE',
  /** The sealed session does not fit in the configured number of cookie chunks. */
  TOO_LARGE: 'ERR_SESSION_TOO_LARGE',
  /** A data key collides with a method of the session API (`get`, `save`, `destroy`, ...). */
  RESERVED_KEY: 'ERR_SESSION_RESERVED_KEY',
  /** Session data cannot be serialized to JSON (BigInt, cycles, ...). */
  NOT_SERIALIZABLE: 'ERR_SESSION_NOT_SERIALIZABLE',
  /** The session store failed or timed out; the request cannot use its session. */
  STORE_UNAVAILABLE: 'ERR_SESSION_STORE_UNAVAILABLE',
  /** A session id handed to a store is not of the form this library issues. */
  INVALID_ID: 'ERR_SESSION_INVALID_ID',
  /** The session was used after `destroy()` in a way that cannot be honoured, or after commit, or replaced by a value other than `null`. */
  INVALID_STATE: 'ERR_SESSION_INVALID_STATE',
  /** The operation needs a capability the configured store does not have (e.g. a per-user index). */
  UNSUPPORTED: 'ERR_SESSION_UNSUPPORTED',
  /**
   * A WebSocket's session cannot change this way: no cookie or header can reach the client
   * mid-connection, so only a server-store session the upgrade request carried can be changed (and
   * saved with `save()`), and none can be regenerated.
   */
  SOCKET_READ_ONLY: 'ERR_SESSION_SOCKET_READ_ONLY',
  /**
   * The response went out without the session's headers (a Fastify reply hijacked or written on
   * `reply.raw`, as Nest's `@Sse()` does, or one already sent), so a change can no longer reach the
   * client: the session is read-only from then on, as a WebSocket's is.
   */
  RESPONSE_SENT: 'ERR_SESSION_RESPONSE_SENT',
  /** `getSession()` was called outside a request that a session middleware is handling. */
  NO_CONTEXT: 'ERR_SESSION_NO_CONTEXT',
  /**
   * A revocation store is full of unexpired revocations and cannot keep one more: the logout that
   * asked for it did not take (dropping an older revocation instead would bring its sessions back).
   */
  REVOCATIONS_FULL: 'ERR_SESSION_REVOCATIONS_FULL',
  /**
   * The session changed where the framework cannot set a cookie: a Next.js Server Component while
   * it renders, a response already sent or with immutable headers. Change it where a response is
   * still being made (a Server Action, a Route Handler, middleware).
   */
  COOKIES_READ_ONLY: 'ERR_SESSION_COOKIES_READ_ONLY',
} as const

export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode]

const kSessionError = Symbol.for('@x/session-core.SessionError')

export class SessionError extends Error {
  readonly code: SessionErrorCode
  /** HTTP status an adapter should answer with when this error ends a request. */
  readonly status: number

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SessionError'
    this.code = code
    this.status = options?.status ?? (code === SessionErrorCode.STORE_UNAVAILABLE ? 503 : 500)
    Object.defineProperty(this, kSessionError, { value: true })
  }

  /** Same as `status`, for frameworks that read `statusCode` (Fastify). */
  get statusCode(): number {
    return this.status
  }

  /** Brand check that works across duplicate installs of this package, unlike `instanceof`. */
  static is(value: unknown): value is SessionError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[kSessionError] === true
    )
  }
}
