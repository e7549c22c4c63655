import { isPlainObject } from './internal/payload.js'
import { createSealer, type SecretInput } from './internal/sealer.js'

/** A session read from another library's cookie, to be carried over into this library's format. */
export interface AdoptedSession {
  /** The session's data: plain JSON, its top-level keys become this session's keys. */
  data: Record<string, unknown>
}

/**
 * Reads the sessions of the library an app is leaving, for a migration period (the `adopt`
 * option): a request that carries no session of this library but this reader's cookie gets that
 * session's data in a new session of this library, sent as this library's cookie on the same
 * response, and the old cookie is cleared (whether it was read or not).
 */
export interface LegacySessionReader {
  /** Names the library in the `adopted` event. */
  readonly name: string
  /** The old library's cookie name. */
  readonly cookieName: string
  /** The `Path` and `Domain` the old cookie was set with, so clearing it reaches it. @default { path: '/' } */
  readonly cookie?: { readonly path?: string; readonly domain?: string }
  /**
   * The session the cookie's raw value (as the request carried it) names, or `undefined` when it
   * is no session (tampered, expired, signed by another secret, not found). Must not throw for bad
   * input; a thrown error (a store outage) fails the request as any store failure does.
   */
  read(value: string, now: number): Promise<AdoptedSession | undefined>
  /** Ends the old session once it has been carried over (deletes a server record), so its cookie cannot be replayed. */
  retire?(value: string): Promise<void>
}

const DAY = 86_400

export interface IronSessionCookiesOptions {
  /** iron-session's `password`: a string, or its `{ 1: '...', 2: '...' }` map. */
  password: string | Readonly<Record<string, string>>
  /** iron-session's `cookieName`. */
  cookieName: string
  /** iron-session's `ttl` in seconds. `0` (tokens that never expire) cannot be carried over. @default 1209600 (14 days) */
  ttl?: number
  /** The `Path` and `Domain` of iron-session's `cookieOptions`. @default { path: '/' } */
  cookie?: { path?: string; domain?: string }
}

/**
 * Sessions sealed by iron-session (v6 to v8): the same `Fe26.2` format, verified with its password
 * and its ttl. iron-session turns a string password into the key id `1`, and marks v8 tokens `~2`.
 */
export function ironSessionCookies(options: IronSessionCookiesOptions): LegacySessionReader {
  const ttl = options.ttl ?? 14 * DAY
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new TypeError(
      'ironSessionCookies: ttl must be a positive number of seconds (tokens sealed with ttl 0 never expire and are not carried over)',
    )
  }
  const passwords: SecretInput =
    typeof options.password === 'string' ? { 1: options.password } : options.password
  const sealer = createSealer(passwords, { cacheSize: 0 })
  // iron-session lets a seal live `ttl` seconds, and iron allows a minute of clock skew.
  const lifetimeMs = (ttl + 60) * 1000
  return {
    name: 'iron-session',
    cookieName: options.cookieName,
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    async read(value, now) {
      let token: string
      try {
        token = decodeURIComponent(value)
      } catch {
        return undefined
      }
      const tilde = token.lastIndexOf('~')
      const version = tilde === -1 ? undefined : token.slice(tilde + 1)
      if (version !== undefined && version !== '2') return undefined
      const unsealed = await sealer.unseal(tilde === -1 ? token : token.slice(0, tilde), now, lifetimeMs)
      if (!unsealed.ok || !isPlainObject(unsealed.payload)) return undefined
      // v6 and v7 tokens (no version mark) kept the data under `persistent`.
      const data = version === '2' ? unsealed.payload : unsealed.payload.persistent
      return isPlainObject(data) ? { data: { ...data } } : undefined
    },
  }
}

/** The callback API of an express-session (connect) store: connect-redis, connect-pg-simple, MemoryStore... */
export interface ConnectStore {
  get(sid: string, callback: (error: unknown, session?: unknown) => void): void
  destroy(sid: string, callback?: (error?: unknown) => void): void
}

export interface ExpressSessionCookiesOptions {
  /** The express-session store that holds the sessions. */
  store: ConnectStore
  /** express-session's `secret`: one, or the array it accepts (every entry verifies). */
  secret: string | readonly string[]
  /** express-session's `name`. @default 'connect.sid' */
  cookieName?: string
  /** The `Path` and `Domain` of express-session's `cookie` option. @default { path: '/' } */
  cookie?: { path?: string; domain?: string }
}

/**
 * Sessions made by express-session: its signed `s:<id>.<signature>` cookie (HMAC-SHA256, checked
 * against every secret) and the record its store holds, whose `cookie` entry is dropped. The old
 * record is deleted once carried over.
 */
export function expressSessionCookies(options: ExpressSessionCookiesOptions): LegacySessionReader {
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret]
  if (secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret === '')) {
    throw new TypeError('expressSessionCookies: secret must be express-session’s non-empty secret or secrets')
  }
  const keys = secrets.map((secret) =>
    globalThis.crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    ),
  )
  const { store } = options
  const sidOf = async (value: string): Promise<string | undefined> => {
    let raw: string
    try {
      raw = decodeURIComponent(value)
    } catch {
      return undefined
    }
    if (!raw.startsWith('s:')) return undefined
    const dot = raw.lastIndexOf('.')
    if (dot < 3) return undefined
    const sid = raw.slice(2, dot)
    const signature = base64Bytes(raw.slice(dot + 1))
    if (signature === undefined || signature.length !== 32) return undefined
    const data = encoder.encode(sid)
    for (const key of keys) {
      // Web Crypto compares the MAC in constant time.
      if (await globalThis.crypto.subtle.verify('HMAC', await key, signature, data)) return sid
    }
    return undefined
  }
  return {
    name: 'express-session',
    cookieName: options.cookieName ?? 'connect.sid',
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    async read(value, now) {
      const sid = await sidOf(value)
      if (sid === undefined) return undefined
      const record = await new Promise<unknown>((resolve, reject) =>
        store.get(sid, (error, session) => (error ? reject(error) : resolve(session))),
      )
      if (!isPlainObject(record)) return undefined
      const { cookie, ...data } = record
      const expires = isPlainObject(cookie) ? cookie.expires : undefined
      if (expires != null && !(new Date(expires as string).getTime() > now)) return undefined
      return { data }
    },
    async retire(value) {
      const sid = await sidOf(value)
      if (sid === undefined) return
      await new Promise<void>((resolve, reject) =>
        store.destroy(sid, (error) => (error ? reject(error) : resolve())),
      )
    },
  }
}

const encoder = new TextEncoder()

/**
 * The bytes of cookie-signature's unpadded standard base64, or `undefined` unless `text` is the
 * canonical encoding of them (another spelling of the same MAC is not accepted).
 */
function base64Bytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]+$/.test(text)) return undefined
  let binary: string
  try {
    binary = atob(text + '='.repeat((4 - (text.length % 4)) % 4))
  } catch {
    return undefined
  }
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0))
  return btoa(binary).replace(/=+$/, '') === text ? bytes : undefined
}
