/**
 * Unpadded base64url (RFC 4648 section 5), strict in decoding: only the one canonical encoding of a
 * byte string is accepted. Platform decoders (`atob`, `Buffer`, `Uint8Array.fromBase64` in loose
 * mode) ignore the unused low bits of the last character, `=` padding and whitespace, so several
 * strings decode to the same bytes; an iron MAC field would then have several accepted spellings,
 * and a cache keyed by the token string could be fed many keys for one seal (CONFORMANCE T2).
 */

const kAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Character code (0..127) to its 6-bit value, or -1 for a character outside the alphabet. */
const kValues = new Int8Array(128).fill(-1)
for (let i = 0; i < kAlphabet.length; i++) kValues[kAlphabet.charCodeAt(i)] = i

function valueAt(text: string, index: number): number {
  const code = text.charCodeAt(index)
  return code < 128 ? (kValues[code] as number) : -1
}

/** Encodes bytes as unpadded base64url. */
export function encodeBase64Url(bytes: Uint8Array): string {
  let out = ''
  const length = bytes.length
  const whole = length - (length % 3)
  let i = 0
  for (; i < whole; i += 3) {
    const v = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out +=
      kAlphabet[v >>> 18]! + kAlphabet[(v >>> 12) & 63]! + kAlphabet[(v >>> 6) & 63]! + kAlphabet[v & 63]!
  }
  if (length - whole === 1) {
    const v = bytes[i] as number
    out += kAlphabet[v >>> 2]! + kAlphabet[(v & 3) << 4]!
  } else if (length - whole === 2) {
    const v = ((bytes[i] as number) << 8) | (bytes[i + 1] as number)
    out += kAlphabet[v >>> 10]! + kAlphabet[(v >>> 4) & 63]! + kAlphabet[(v & 15) << 2]!
  }
  return out
}

/**
 * Decodes unpadded base64url, or returns `undefined` unless `text` is exactly what
 * {@link encodeBase64Url} makes of the result: no padding, no whitespace, no character outside the
 * alphabet, no length of the form 4n+1, and zero unused bits in the last character.
 */
export function decodeBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  const length = text.length
  const tail = length & 3
  if (tail === 1) return undefined
  const out = new Uint8Array((length * 3) >>> 2)
  const whole = length - tail
  let o = 0
  let i = 0
  for (; i < whole; i += 4) {
    const a = valueAt(text, i)
    const b = valueAt(text, i + 1)
    const c = valueAt(text, i + 2)
    const d = valueAt(text, i + 3)
    if ((a | b | c | d) < 0) return undefined
    const v = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = v >>> 16
    out[o++] = (v >>> 8) & 255
    out[o++] = v & 255
  }
  if (tail === 2) {
    const a = valueAt(text, i)
    const b = valueAt(text, i + 1)
    // The last 4 bits of `b` encode nothing: a canonical encoder writes them as zero.
    if ((a | b) < 0 || (b & 15) !== 0) return undefined
    out[o] = (a << 2) | (b >>> 4)
  } else if (tail === 3) {
    const a = valueAt(text, i)
    const b = valueAt(text, i + 1)
    const c = valueAt(text, i + 2)
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined
    out[o++] = (a << 2) | (b >>> 4)
    out[o] = ((b & 15) << 4) | (c >>> 2)
  }
  return out
}
