/**
 * A session's own lifetime ("remember me", or a cookie that ends with the browser), chosen per
 * session with `session.setLifetime()` and sealed into its token (both stores), so every instance
 * reads the same. Seconds, as everywhere in the API; absent fields mean the configured values.
 */
export interface Lifetime {
  /** Idle timeout of this session, in seconds. */
  i?: number
  /** Absolute timeout of this session, in seconds (never above the configured one). */
  a?: number
  /** `1`: a browser-session cookie, sent without `Max-Age` and `Expires`. */
  b?: 1
}

/** The timeouts (ms) that apply to a session with `lifetime` under the configured ones. */
export function timeoutsOf(
  lifetime: Lifetime | undefined,
  idleMs: number,
  absoluteMs: number,
): { idleMs: number; absoluteMs: number } {
  if (lifetime === undefined) return { idleMs, absoluteMs }
  // The configured absolute timeout is a ceiling no session can lift, whatever its token says (X8).
  const absolute = lifetime.a === undefined ? absoluteMs : Math.min(lifetime.a * 1000, absoluteMs)
  return { idleMs: lifetime.i === undefined ? idleMs : lifetime.i * 1000, absoluteMs: absolute }
}

/**
 * How long after its last refresh an unchanged session is re-sent: the configured interval, but
 * at least four times per idle window of a session whose own idle timeout is shorter than that.
 */
export function rollingOf(lifetime: Lifetime | undefined, rollingMs: number, idleMs: number): number {
  return lifetime?.i === undefined ? rollingMs : Math.min(rollingMs, idleMs / 4)
}

/** The lifetime a `setLifetime()` call asks for, in whole seconds, capped by `maxAbsolute` (s). */
export function lifetimeFrom(
  request: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  maxAbsolute: number,
): Lifetime | string {
  const out: Lifetime = {}
  for (const [name, field] of [
    ['idleTimeout', 'i'],
    ['absoluteTimeout', 'a'],
  ] as const) {
    const value = request[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1)
      return `${name} must be a number of seconds of at least 1, got ${String(value)}`
    out[field] = Math.min(Math.floor(value), maxAbsolute)
  }
  const browser = request.browserSession
  if (browser !== undefined && typeof browser !== 'boolean') return 'browserSession must be a boolean'
  if (browser) out.b = 1
  return out
}

/**
 * The lifetime `setLifetime()` gives a session under a configured absolute timeout of `absoluteMs`:
 * `undefined` when the call asks for nothing of its own (the configured timeouts apply), or the
 * reason the request is refused.
 */
export function requestedLifetime(
  request: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown } | undefined,
  absoluteMs: number,
): Lifetime | undefined | string {
  const lifetime = lifetimeFrom(request ?? {}, Math.floor(absoluteMs / 1000))
  if (typeof lifetime === 'string') return lifetime
  return Object.keys(lifetime).length === 0 ? undefined : lifetime
}

/** Whether a payload's `l` field is a lifetime this library wrote. */
export function isLifetime(value: unknown): value is Lifetime {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const { i, a, b } = value as Record<string, unknown>
  const seconds = (n: unknown) => n === undefined || (Number.isSafeInteger(n) && (n as number) >= 1)
  return seconds(i) && seconds(a) && (b === undefined || b === 1)
}

/** Whether two lifetimes are the same (a token sealed with one can stand for the other). */
export function sameLifetime(x: Lifetime | undefined, y: Lifetime | undefined): boolean {
  return x?.i === y?.i && x?.a === y?.a && x?.b === y?.b
}
