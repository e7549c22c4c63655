import { SessionError, SessionErrorCode } from '@x/session-core'

/** Longest user id accepted; core's `bindUser` allows 256 characters, this leaves room without unbounded keys. */
const MAX_USER_LENGTH = 1024
/** A lone surrogate: UTF-8 encoding would replace it with U+FFFD, so two different users could share one key. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * Everything one session keeps lives in one hash whose hash tag is the id itself, so every script
 * about a session touches one Cluster slot. The id is validated first, so it cannot contain `{`/`}`.
 */
export function sessionKey(prefix: string, id: string): string {
  return `${prefix}{${id}}`
}

/**
 * A user's index lives in the user's own slot. The user id is base64url-encoded: whatever it
 * contains (`}`, `*`, `:`, newlines, 4 KB of emoji) it cannot leave its hash tag or the prefix.
 */
export function userKey(prefix: string, user: string): string {
  return `${prefix}user:{${Buffer.from(user, 'utf8').toString('base64url')}}`
}

/** A revocation subject, base64url-encoded in its own hash tag for the same reasons as a user. */
export function revocationKey(prefix: string, subject: string): string {
  return `${prefix}{${Buffer.from(subject, 'utf8').toString('base64url')}}`
}

export function checkUser(user: unknown): asserts user is string {
  if (
    typeof user !== 'string' ||
    user.length === 0 ||
    user.length > MAX_USER_LENGTH ||
    LONE_SURROGATE.test(user)
  ) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `a session's user must be a well-formed string of 1 to ${MAX_USER_LENGTH} characters`,
    )
  }
}

export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      '`prefix` must be a string without `{` or `}` (braces decide Redis Cluster hash slots); e.g. "sess:"',
    )
  }
}
