import { uint8ArrayToBase64 } from 'uint8array-extras'

/** 18 random bytes: 144 bits from the platform CSPRNG, 24 base64url characters with no padding. */
const ID_BYTES = 18
const ID_PATTERN = /^[A-Za-z0-9_-]{24}$/

export function generateSessionId(): string {
  return uint8ArrayToBase64(crypto.getRandomValues(new Uint8Array(ID_BYTES)), { urlSafe: true })
}

/** True for strings of the form this library issues; stores check it before any I/O. */
export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}
