import { SessionError, SessionErrorCode } from '@x/session-core'
import { LONE_SURROGATE } from './sql.js'

/** Longest user id accepted; core's `bindUser` allows 256 characters, this leaves room without unbounded rows. */
const MAX_USER_LENGTH = 1024

export function invalid(what: string, message: string): never {
  throw new SessionError(SessionErrorCode.INVALID_OPTION, `${what}: ${message}`)
}

/**
 * A user or revocation subject: PostgreSQL `text` cannot hold NUL, and a lone surrogate has no
 * UTF-8 form (drivers would write U+FFFD, so two users could share one value).
 */
export function checkText(value: unknown, what: string, max = MAX_USER_LENGTH): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > max ||
    value.includes('\0') ||
    LONE_SURROGATE.test(value)
  ) {
    invalid(
      '@x/session-postgres',
      `${what} must be a well-formed string of 1 to ${max} characters without NUL`,
    )
  }
}

/** Seconds (the API's unit) to milliseconds; refuses what is not a positive finite number. */
export function ttlMs(ttl: unknown, what: string): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)
    invalid(what, `ttl must be a positive number of seconds, got ${String(ttl)}`)
  return Math.ceil(ttl * 1000)
}

/**
 * An int8 column as a number. Both drivers return `bigint` columns as strings by default; either
 * may be configured to return numbers or BigInts instead.
 */
export function integer(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined
  if (typeof value === 'bigint') return integer(Number(value))
  if (typeof value !== 'string' || !/^-?\d{1,16}$/.test(value)) return undefined
  return integer(Number(value))
}

/** A positive integer option, or its default. */
export function count(value: unknown, fallback: number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max)
    invalid(what, `must be an integer from 1 to ${max}, got ${String(value)}`)
  return value
}
