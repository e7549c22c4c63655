import { SessionError, SessionErrorCode } from '../errors.js'

/** Default `maxDataSize` of the server stores: 1 MiB of JSON. */
export const DEFAULT_MAX_DATA_SIZE = 1_048_576

const encoder = new TextEncoder()

/**
 * UTF-8 bytes of `json`, exactly when it could exceed `limit`: a UTF-16 code unit is at most 3
 * bytes, so the common small session is decided by its length alone, with no encoding pass.
 */
export function jsonByteLength(json: string, limit: number): number {
  if (json.length * 3 <= limit) return json.length
  return encoder.encode(json).length
}

/** Validates a store's `maxDataSize` option (bytes). */
export function readMaxDataSize(value: unknown, storeName: string): number {
  if (value === undefined) return DEFAULT_MAX_DATA_SIZE
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 2) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `${storeName}: maxDataSize must be a whole number of bytes of at least 2, got ${String(value)}`,
    )
  }
  return value
}

export function dataTooLarge(limit: number): SessionError {
  return new SessionError(
    SessionErrorCode.TOO_LARGE,
    `session data is larger than the store's maxDataSize (${limit} bytes of JSON): keep large data elsewhere and store a reference`,
  )
}

/**
 * For store implementations: rejects with `ERR_SESSION_TOO_LARGE` when `json` (the JSON of a
 * session's data) is over `limit` bytes.
 */
export function checkDataSize(json: string, limit: number): void {
  if (jsonByteLength(json, limit) > limit) throw dataTooLarge(limit)
}
