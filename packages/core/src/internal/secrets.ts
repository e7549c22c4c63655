import { SessionError, SessionErrorCode } from '../errors.js'
import type { SecretInput } from './seal-types.js'

const kMinSecretLength = 32
const kConfiguredKeyIdPattern = /^\w+$/

/** Checks secrets (K1) and returns them as key id -> secret, newest last. */
export function readSecrets(secrets: SecretInput): Map<string, string> {
  const fail = (message: string): never => {
    throw new SessionError(SessionErrorCode.INVALID_SECRET, message)
  }
  const entries: [string, unknown][] =
    typeof secrets === 'string'
      ? [['', secrets]]
      : typeof secrets === 'object' && secrets !== null && !Array.isArray(secrets)
        ? Object.entries(secrets)
        : fail('`secret` must be a string of at least 32 characters or an object of { keyId: secret }.')
  if (entries.length === 0) fail('`secret` has no keys: give at least one { keyId: secret } entry.')
  const keys = new Map<string, string>()
  const owners = new Map<string, string>()
  for (const [id, secret] of entries) {
    const name = typeof secrets === 'string' ? 'The secret' : `The secret of key id "${id}"`
    // The key id is written into every token and is not secret; the secret never appears here.
    if (typeof secrets !== 'string' && !kConfiguredKeyIdPattern.test(id)) {
      fail(`Key id ${JSON.stringify(id)} is invalid: use letters, digits and "_" only (/^\\w+$/).`)
    }
    if (typeof secret !== 'string') fail(`${name} must be a string.`)
    const value = secret as string
    if (value.length === 0) fail(`${name} is empty: use at least 32 random characters.`)
    if (value.length < kMinSecretLength) {
      fail(`${name} is shorter than 32 characters: use at least 32 random characters.`)
    }
    const owner = owners.get(value)
    if (owner !== undefined) {
      fail(`Key ids "${owner}" and "${id}" have the same secret: give every key id its own secret.`)
    }
    owners.set(value, id)
    keys.set(id, value)
  }
  return keys
}

export function readCount(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SessionError(SessionErrorCode.INVALID_OPTION, `\`${name}\` must be an integer >= ${min}.`)
  }
  return value
}
