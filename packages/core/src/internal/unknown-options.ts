/**
 * Options this library does not have. Most come from the session library an app is leaving, where
 * they meant something: ignoring them would run the app with defaults its author never chose, so
 * each is refused, and the ones the peers use are answered with this library's equivalent.
 */

/** What an option of another library is called, or how it is done, here. */
export interface OptionHint {
  /** The libraries that use the option under this name. */
  from: string
  /** What to write instead, in this library's words. */
  instead: string
}

const EXPRESS = 'express-session'
const IRON = 'iron-session'
const KOA = 'koa-session'
const FASTIFY = '@fastify/session'
const SECURE = '@fastify/secure-session'
const HONO = 'hono-sessions'
const COOKIE_SESSION = 'cookie-session'

const ms = 'in seconds (theirs is in milliseconds)'

/** Top-level options of the peers, by name. */
const topLevel: Readonly<Record<string, OptionHint>> = {
  name: { from: `${EXPRESS}, ${COOKIE_SESSION}`, instead: '`cookie: { name }`' },
  key: { from: `${KOA}, ${SECURE}`, instead: '`cookie: { name }` (and `secret` for a key)' },
  keys: {
    from: COOKIE_SESSION,
    instead: '`secret: { k1: ..., k2: ... }` (the last entry seals, every entry unseals)',
  },
  cookieName: { from: `${IRON}, ${FASTIFY}, ${SECURE}`, instead: '`cookie: { name }`' },
  sessionName: { from: SECURE, instead: '`property` on the adapter, and `cookie: { name }`' },
  sessionCookieName: { from: HONO, instead: '`cookie: { name }`' },
  cookieOptions: { from: `${IRON}, ${HONO}`, instead: '`cookie`' },
  chunk: {
    from: IRON,
    instead:
      'nothing: a seal over 4096 bytes is split into numbered cookies on its own, up to `cookie: { maxChunks }`',
  },
  onUnsealError: {
    from: IRON,
    instead: '`onEvent` (`invalid`, `expired` and `unknown-key` events, with their reason)',
  },
  cookiePrefix: { from: FASTIFY, instead: 'a prefixed `cookie: { name }` (e.g. `__Host-session`)' },
  password: {
    from: IRON,
    instead: '`secret` (a string of 32+ characters, or `{ [keyId]: secret }` to rotate)',
  },
  encryptionKey: { from: HONO, instead: '`secret` (32+ characters)' },
  salt: { from: SECURE, instead: '`secret` alone (keys are derived per seal)' },
  ttl: {
    from: IRON,
    instead:
      '`idleTimeout` and `absoluteTimeout`, in seconds (0 meant "never expires": sessions here always end)',
  },
  maxAge: { from: `${KOA}, ${COOKIE_SESSION}`, instead: `\`idleTimeout\` ${ms}` },
  maxage: { from: KOA, instead: `\`idleTimeout\` ${ms}` },
  expires: { from: COOKIE_SESSION, instead: '`idleTimeout` in seconds' },
  expiry: { from: SECURE, instead: '`idleTimeout` in seconds' },
  expireAfterSeconds: { from: HONO, instead: '`idleTimeout` (also in seconds)' },
  autoExtendExpiration: { from: HONO, instead: '`rolling` (on by default)' },
  renew: {
    from: KOA,
    instead: '`rolling` (on by default: the cookie is re-sent as the idle window runs down)',
  },
  resave: {
    from: EXPRESS,
    instead:
      'nothing: an unchanged session is never written back (only a due rolling refresh sends it again)',
  },
  saveUninitialized: {
    from: `${EXPRESS}, ${FASTIFY}`,
    instead: 'nothing: a new session is saved and sent only once something is written to it',
  },
  unset: { from: EXPRESS, instead: '`session.destroy()` to end a session' },
  genid: {
    from: `${EXPRESS}, ${KOA}`,
    instead: 'nothing: ids are 128+ random bits from the platform CSPRNG',
  },
  idGenerator: { from: FASTIFY, instead: 'nothing: ids are 128+ random bits from the platform CSPRNG' },
  proxy: {
    from: EXPRESS,
    instead: "the framework's trust-proxy setting, which `cookie: { secure: 'auto' }` follows",
  },
  secure: { from: KOA, instead: '`cookie: { secure }`' },
  httpOnly: { from: KOA, instead: '`cookie: { httpOnly }`' },
  sameSite: { from: KOA, instead: '`cookie: { sameSite }`' },
  domain: { from: `${KOA}, ${COOKIE_SESSION}`, instead: '`cookie: { domain }`' },
  path: { from: `${KOA}, ${COOKIE_SESSION}`, instead: '`cookie: { path }`' },
  partitioned: { from: KOA, instead: '`cookie: { partitioned }`' },
  priority: { from: KOA, instead: '`cookie: { priority }`' },
  signed: {
    from: `${KOA}, ${COOKIE_SESSION}`,
    instead: 'nothing: every session is sealed (encrypted and signed)',
  },
  overwrite: {
    from: `${KOA}, ${COOKIE_SESSION}`,
    instead: 'nothing: one Set-Cookie per cookie name is always sent',
  },
  autoCommit: {
    from: KOA,
    instead: 'nothing: the session is committed after the handler, also when it throws',
  },
  encode: { from: KOA, instead: 'nothing: the session is sealed with iron (Fe26.2)' },
  decode: { from: KOA, instead: 'nothing: the session is sealed with iron (Fe26.2)' },
  externalKey: { from: KOA, instead: '`tokenHeader` for a token outside the cookie' },
  ContextStore: { from: KOA, instead: '`store`' },
  prefix: { from: KOA, instead: "the store's own key prefix (e.g. `redisStore({ prefix })`)" },
  valid: {
    from: KOA,
    instead:
      'a check in your own middleware after the session is loaded, and `session.destroy()` when it fails',
  },
  beforeSave: {
    from: KOA,
    instead: 'your handler: the session is saved after it returns, with what it holds then',
  },
}

/** Options inside `cookie`, by name. */
const cookieLevel: Readonly<Record<string, OptionHint>> = {
  maxAge: { from: `${EXPRESS}, ${FASTIFY}`, instead: `\`idleTimeout\` (top level) ${ms}` },
  expires: { from: `${EXPRESS}, ${FASTIFY}`, instead: '`idleTimeout` (top level), in seconds' },
  signed: { from: KOA, instead: 'nothing: every session is sealed (encrypted and signed)' },
  overwrite: { from: KOA, instead: 'nothing: one Set-Cookie per cookie name is always sent' },
}

/** How an option this library does not know is done here, when a peer library uses it. */
export function hintFor(name: string, inCookie: boolean): OptionHint | undefined {
  const table = inCookie ? cookieLevel : topLevel
  return Object.hasOwn(table, name) ? table[name] : undefined
}

/** The keys of `value` not in `known`, in their order. */
export function unknownNames(value: object, known: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((key) => !known.has(key))
}
