import { defaultBackend } from './crypto-backend.js'

/** 18 random bytes: 144 bits from the platform CSPRNG, 24 base64url characters with no padding. */
const ID_BYTES = 18
const ID_PATTERN = /^[A-Za-z0-9_-]{24}$/

export function generateSessionId(): string {
  // The backend's pool is filled by the platform CSPRNG (C4) and never hands out a byte twice;
  // drawing from it saves a native call per id.
  const backend = defaultBackend()
  return backend.encodeBase64Url(backend.randomBytes(ID_BYTES))
}

/** True for strings of the form this library issues; stores check it before any I/O. */
export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id)
}
