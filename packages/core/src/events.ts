/**
 * Telemetry. Events never carry a cookie value, a session id or a secret: only reasons, key ids
 * and cookie names, so they can go to logs as they are.
 */
export type SessionEvent =
  | { type: 'invalid'; reason: InvalidReason; cookie: string }
  | { type: 'unknown-key'; keyId: string; cookie: string }
  | { type: 'expired'; reason: 'idle' | 'absolute' | 'lifetime'; cookie: string }
  | { type: 'revoked'; cookie: string }
  /** A WebSocket handshake from an origin not in `allowedOrigins` (W1): it got no session. */
  | { type: 'origin-refused'; origin: string; cookie: string }
  | { type: 'rotated'; fromKeyId: string; toKeyId: string; cookie: string }
  | { type: 'store-error'; operation: 'get' | 'set' | 'delete' | 'touch' | 'list' | 'revoke'; error: unknown }
  | { type: 'conflict'; retries: number }
  /**
   * At construction: the secret of `keyId` (`''` for a plain string) looks chosen rather than random
   * (see the README's secrets section). Also warned once per secret per process on the console.
   */
  | { type: 'weak-secret'; keyId: string }
  /** `commit()` failed and the request answers with an error: the session was not saved. */
  | { type: 'commit-error'; code: string }
  /**
   * A cookie of the library being left (the `adopt` option) was read: its session `adopted` into a
   * new session of this library, or `no-session` (tampered, expired, unknown). Either way it is cleared.
   */
  | { type: 'legacy'; from: string; outcome: 'adopted' | 'no-session' }
  /**
   * The response went out without the session (a hijacked or raw-written reply, such as Nest's
   * `@Sse()` on Fastify) after a change that needed it: the change never reached the client.
   */
  | { type: 'unsent'; cookie: string }

export type InvalidReason =
  /** Over the size limit, or not of the Fe26.2 shape: rejected before any crypto. */
  | 'malformed'
  /** Integrity check failed: tampered, another secret, or a non-canonical encoding. */
  | 'bad-seal'
  /** The seal carries no expiry, or one beyond the configured lifetime. */
  | 'bad-expiry'
  /** A valid seal whose payload is not a session of this library (shape, version, cookie name). */
  | 'bad-payload'
  /** The cookie refers to a server session that does not exist (any more). */
  | 'not-found'
