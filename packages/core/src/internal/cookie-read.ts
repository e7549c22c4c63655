// Reading the session cookie and its chunks from the request's `Cookie` header (CONFORMANCE T9,
// T12).

/**
 * Chunk indexes past `maxChunks` that are still reported as present, so that lowering `maxChunks`
 * (or a cookie written by an older release) still gets its stale chunks cleared.
 */
const STALE_CHUNK_SLACK = 4
/** Bounds the chunk probe so that a non-finite `maxChunks` can never turn request input into a long loop. */
const MAX_CHUNK_INDEX = 1000

const NOTHING_READ: { value: undefined; present: readonly string[] } = Object.freeze({
  value: undefined,
  present: Object.freeze([]),
})

/**
 * Reads the session cookie `name` and its chunks `name.0`, `name.1`, ... from one or several
 * `Cookie` header values. Exact-case names; the first occurrence of a name wins (browsers send the
 * more specific path first). `value` is the chunked form when `name.0` exists, else the plain
 * cookie, else undefined; `present` lists each of `name`, `name.0`..`name.(maxChunks+4)` that
 * appeared, so stale ones can be cleared. Never throws.
 *
 * Only this app's names are looked at (T12): a header of thousands of other cookies costs one
 * `indexOf` pass, not a split and a copy of every pair. What is read is exactly what the `cookie`
 * package's `parse` reads for these names (pairs split at `;`, the first `=` ends the name, spaces
 * and tabs trimmed around name and value, values raw): the tests hold the two side by side.
 */
export function readSessionCookie(
  header: string | readonly string[] | undefined,
  name: string,
  maxChunks: number,
): { value: string | undefined; present: readonly string[] } {
  if (typeof name !== 'string' || name === '') return NOTHING_READ
  let source: string | undefined
  if (typeof header === 'string') {
    if (header.includes(name)) source = header
  } else if (Array.isArray(header)) {
    // HTTP/2 sends one header per cookie; RFC 9113 8.2.3 says to join them with "; ", which keeps
    // first-wins across headers because the scan keeps the first value it meets.
    for (const h of header as readonly unknown[]) {
      if (typeof h !== 'string' || !h.includes(name)) continue
      source = source === undefined ? h : `${source}; ${h}`
    }
  }
  // Most requests without a session never get here: no scanning, no allocation.
  if (source === undefined) return NOTHING_READ

  const limit = maxChunks >= 1 ? Math.min(Math.floor(maxChunks), MAX_CHUNK_INDEX) : 0
  const last = limit + STALE_CHUNK_SLACK
  let plain: string | undefined
  // Index i holds `name.i`'s value; only indexes up to `last` are ever kept.
  let chunks: (string | undefined)[] | undefined
  for (let at = source.indexOf(name); at !== -1; at = source.indexOf(name, at + 1)) {
    const pair = pairAt(source, at, name, last)
    if (pair === undefined) continue
    const { index, value } = pair
    if (index === -1) plain ??= value
    else {
      chunks ??= []
      chunks[index] ??= value
    }
  }

  const present: string[] = []
  if (plain !== undefined) present.push(name)
  if (chunks === undefined) return { value: plain, present }
  let chunked: string | undefined
  let contiguous = true
  for (let i = 0; i <= last; i++) {
    const chunk = chunks[i]
    if (chunk === undefined) {
      contiguous = false
      continue
    }
    present.push(`${name}.${i}`)
    if (contiguous && i < limit) chunked = chunked === undefined ? chunk : chunked + chunk
  }
  return { value: chunked ?? plain, present }
}

const isBlank = (c: number) => c === 0x20 || c === 0x09

/**
 * The pair whose name starts at `at`, when that name is `name` (index -1) or `name.<i>` with `i`
 * written canonically and at most `last`; else undefined (the text at `at` is part of some other
 * name or of a value).
 */
function pairAt(
  source: string,
  at: number,
  name: string,
  last: number,
): { index: number; value: string } | undefined {
  // Only blanks between the previous `;` (or the start) and the name: else it is inside another pair.
  for (let i = at - 1; i >= 0; i--) {
    const c = source.charCodeAt(i)
    if (c === 0x3b /* ; */) break
    if (!isBlank(c)) return undefined
  }
  let i = at + name.length
  let index = -1
  if (source.charCodeAt(i) === 0x2e /* . */) {
    const digits = ++i
    let n = 0
    while (i < source.length) {
      const c = source.charCodeAt(i)
      if (c < 0x30 || c > 0x39) break
      n = n * 10 + (c - 0x30)
      i++
      // Past the last index kept: not a name this codec reads, whatever follows.
      if (n > last) return undefined
    }
    // `name.` alone, or a leading zero (`name.01` is not `name.1`): some other cookie.
    if (i === digits || (source.charCodeAt(digits) === 0x30 && i - digits > 1)) return undefined
    index = n
  }
  while (i < source.length && isBlank(source.charCodeAt(i))) i++
  if (source.charCodeAt(i) !== 0x3d /* = */) return undefined
  let start = i + 1
  let end = source.indexOf(';', start)
  if (end === -1) end = source.length
  while (start < end && isBlank(source.charCodeAt(start))) start++
  while (end > start && isBlank(source.charCodeAt(end - 1))) end--
  return { index, value: source.slice(start, end) }
}
