import type { SecretInput } from './sealer.js'

/** Fewer distinct characters than this cannot be random: 32 random hex digits show about 14. */
const kMinDistinct = 8
/**
 * Bits of empirical (Shannon) entropy over the whole secret below which it is not random: 32 random
 * hex digits measure about 118 bits (none of 100,000 drawn came under 90), 32 random base64url
 * characters about 150.
 */
const kMinBits = 80

/**
 * Whether a secret looks chosen by a person rather than drawn at random: few distinct characters,
 * a shorter string repeated (`"password".repeat(4)`), or little entropy in its character counts.
 * A heuristic that only warns: a secret that passes is not thereby strong.
 */
export function isWeakSecret(secret: string): boolean {
  const counts = new Map<string, number>()
  for (const char of secret) counts.set(char, (counts.get(char) ?? 0) + 1)
  if (counts.size < kMinDistinct) return true
  if (repeats(secret)) return true
  let bits = 0
  const length = secret.length
  for (const count of counts.values()) bits -= count * Math.log2(count / length)
  return bits < kMinBits
}

/** True when `s` is a shorter string written out two or more times (the tail may be cut short). */
function repeats(s: string): boolean {
  for (let period = 1; period <= s.length >> 1; period++) {
    let i = period
    while (i < s.length && s.charCodeAt(i) === s.charCodeAt(i - period)) i++
    if (i === s.length) return true
  }
  return false
}

/** The key ids (`''` for a plain string) whose secrets look weak. Never returns a secret. */
export function weakKeyIds(secrets: SecretInput): string[] {
  if (typeof secrets === 'string') return isWeakSecret(secrets) ? [''] : []
  return Object.entries(secrets)
    .filter(([, secret]) => typeof secret === 'string' && isWeakSecret(secret))
    .map(([id]) => id)
}

/** Secrets warned about on the console in this process: each once, however many managers use it. */
const warned = new Set<string>()

/**
 * Reports each weak secret of `secrets`: an event for every manager (so each app's telemetry sees
 * it) and one console warning per secret per process (so a log without telemetry shows it once).
 */
export function reportWeakSecrets(secrets: SecretInput, emit: (keyId: string) => void): void {
  for (const keyId of weakKeyIds(secrets)) {
    emit(keyId)
    const secret = typeof secrets === 'string' ? secrets : (secrets[keyId] as string)
    if (warned.has(secret)) continue
    warned.add(secret)
    const which = keyId === '' ? 'the configured `secret`' : `the secret of key id "${keyId}"`
    console.warn(
      `@x/session: ${which} looks chosen rather than random (few distinct characters, a repeated pattern or little entropy). ` +
        'Anyone who guesses it can forge sessions: use 32 or more random characters, e.g. `openssl rand -base64 32`.',
    )
  }
}
