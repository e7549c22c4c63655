/**
 * Keeps the migration guides (docs/migrating/*.md) true: every option a peer documents has a row
 * in its guide's option table; a row for an option this library does not read is refused with
 * ERR_SESSION_INVALID_OPTION, and names the equivalent that unknown-options.ts gives for it; every
 * error message a guide quotes is one the code throws today.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createSessionManager, type SessionOptions } from '../src/index.js'
import { hintFor } from '../src/internal/unknown-options.js'

const secret = 'Q9v!x2Lr8#pT4mZ7wK1sY6nB3cJ0hF5d'
const dir = new URL('../../../docs/migrating/', import.meta.url)
const guides = readdirSync(dir)
  .filter((file) => file.endsWith('.md'))
  .map((file) => ({ file, text: readFileSync(new URL(file, dir), 'utf8') }))

/** The options each peer documents (its README and option types, at the versions named). */
const documented: Record<string, string[]> = {
  // express-session 1.19
  'express-session': [
    'secret',
    'name',
    'store',
    'resave',
    'saveUninitialized',
    'rolling',
    'genid',
    'proxy',
    'unset',
    'cookie',
    'cookie.maxAge',
    'cookie.expires',
    'cookie.domain',
    'cookie.path',
    'cookie.httpOnly',
    'cookie.secure',
    'cookie.sameSite',
    'cookie.partitioned',
    'cookie.priority',
  ],
  // iron-session 9
  'iron-session': ['password', 'cookieName', 'ttl', 'cookieOptions', 'chunk', 'onUnsealError'],
  // koa-session 7 (its cookie attributes sit beside its options)
  'koa-session': [
    'key',
    'maxAge',
    'maxage',
    'autoCommit',
    'overwrite',
    'httpOnly',
    'signed',
    'rolling',
    'renew',
    'secure',
    'sameSite',
    'domain',
    'path',
    'partitioned',
    'priority',
    'store',
    'ContextStore',
    'externalKey',
    'encode',
    'decode',
    'genid',
    'prefix',
    'valid',
    'beforeSave',
  ],
  // @fastify/session 11
  '@fastify/session': [
    'secret',
    'cookieName',
    'cookiePrefix',
    'store',
    'saveUninitialized',
    'rolling',
    'idGenerator',
    'cookie.maxAge',
    'cookie.expires',
    'cookie.path',
    'cookie.domain',
    'cookie.httpOnly',
    'cookie.secure',
    'cookie.sameSite',
    'cookie.partitioned',
  ],
  // @fastify/secure-session 8
  '@fastify/secure-session': ['key', 'secret', 'salt', 'sessionName', 'cookieName', 'expiry', 'cookie'],
  // hono-sessions 0.8
  'hono-sessions': [
    'store',
    'encryptionKey',
    'expireAfterSeconds',
    'autoExtendExpiration',
    'sessionCookieName',
    'cookieOptions',
  ],
}

/** Each guide's "before" configuration, as its first sample shows it. */
const typical: Record<string, Record<string, unknown>> = {
  'express-session': {
    name: 'sid',
    secret,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 86_400_000, secure: 'auto', sameSite: 'lax' },
  },
  'iron-session': {
    password: secret,
    cookieName: 'app',
    ttl: 604_800,
    cookieOptions: { secure: true, sameSite: 'lax' },
  },
  'koa-session': {
    key: 'koa.sess',
    maxAge: 86_400_000,
    renew: true,
    httpOnly: true,
    signed: true,
    secure: true,
    sameSite: 'lax',
  },
  '@fastify/session': {
    secret,
    cookieName: 'sessionId',
    saveUninitialized: false,
    cookie: { maxAge: 86_400_000, secure: 'auto', sameSite: 'lax' },
  },
  'hono-sessions': {
    encryptionKey: secret,
    expireAfterSeconds: 900,
    autoExtendExpiration: true,
    sessionCookieName: 'session',
    cookieOptions: { sameSite: 'Lax', path: '/', httpOnly: true },
  },
}

interface Row {
  guide: string
  peer: string
  option: string
  here: string
}

/** The rows of every table under an "options, one by one" heading whose first column names a peer. */
function optionRows(): Row[] {
  const rows: Row[] = []
  for (const { file, text } of guides) {
    let heading = ''
    let peer: string | undefined
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) heading = line
      if (!line.startsWith('|')) {
        peer = undefined
        continue
      }
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim())
      if (!/options, one by one/i.test(heading) || cells.length < 2 || /^-+$/.test(cells[0] ?? '')) continue
      if (peer === undefined) {
        peer = cells[0]
        continue
      }
      const option = /^`([\w.]+)`$/.exec(cells[0] ?? '')?.[1]
      if (option) rows.push({ guide: file, peer, option, here: cells[1] ?? '' })
    }
  }
  return rows
}

function refusal(options: Record<string, unknown>) {
  try {
    createSessionManager({ secret, ...options } as SessionOptions)
  } catch (error) {
    return error as { code: string; message: string }
  }
  return undefined
}

/** The configuration that passes `option` alone (names are checked before values). */
function withOption(option: string, value: unknown): Record<string, unknown> {
  return option.startsWith('cookie.') ? { cookie: { [option.slice(7)]: value } } : { [option]: value }
}

const rows = optionRows()

describe('migration guides: option tables', () => {
  it('has a guide table for every peer, with a row for every option it documents', () => {
    for (const [peer, options] of Object.entries(documented)) {
      const listed = rows.filter((row) => row.peer === peer).map((row) => row.option)
      expect(listed.sort(), peer).toEqual([...options].sort())
    }
    expect(new Set(rows.map((row) => row.peer))).toEqual(new Set(Object.keys(documented)))
  })

  it.each(rows.map((row) => [row.peer, row.option, row] as const))(
    '%s `%s`: refused with ERR_SESSION_INVALID_OPTION naming the equivalent the guide states, or read here',
    (peer, option, row) => {
      const inCookie = option.startsWith('cookie.')
      const name = inCookie ? option.slice(7) : option
      const error = refusal(withOption(option, undefined))
      const hint = hintFor(name, inCookie)
      if (error?.code !== 'ERR_SESSION_INVALID_OPTION') {
        // An option of the same name here: the guide says how it is read.
        expect(hint).toBeUndefined()
        expect(row.here).toMatch(new RegExp(`\\b${name}\\b`))
        return
      }
      expect(hint, `unknown-options.ts has no hint for ${option}`).toBeDefined()
      if (!hint) return
      expect(hint.from.split(', ')).toContain(peer)
      expect(error.message).toContain(hint.instead)
      // The guide names what the error names: one of its code spans, or its first words.
      const named = hint.instead.match(/`[^`]+`/g) ?? [hint.instead.split(':')[0] ?? '']
      if (/^nothing\b/.test(hint.instead)) expect(row.here).toMatch(/^Nothing\b/)
      else
        expect(
          named.some((equivalent) => row.here.toLowerCase().includes(equivalent.toLowerCase())),
          `${row.guide}: ${row.here}`,
        ).toBe(true)
    },
  )
})

/** Every message the code gives for the options in the tables, and for the peers' own stores. */
function currentMessages(): Set<string> {
  const messages = new Set<string>()
  const add = (options: Record<string, unknown>) => {
    const error = refusal(options)
    if (error) messages.add(error.message)
  }
  for (const row of rows) add(withOption(row.option, 1))
  // A connect store (express-session, @fastify/session) and a hono-sessions store, by their methods.
  add({ store: { get() {}, set() {}, destroy() {} } })
  add({ store: { getSession() {}, createSession() {}, persistSessionData() {}, deleteSession() {} } })
  return messages
}

/** The lines of a guide's ```text fences, and its inline code spans that quote an error. */
function quoted(text: string): string[] {
  const lines: string[] = []
  for (const [, body] of text.matchAll(/^\s*```text\n([\s\S]*?)^\s*```/gm))
    for (const line of (body ?? '').split('\n')) if (line.trim()) lines.push(line.trim())
  for (const [, span] of text.matchAll(/`(store (?:must|looks) [^`]+)`/g)) if (span) lines.push(span)
  return lines
}

describe('migration guides: quoted errors', () => {
  const messages = currentMessages()

  it.each(guides.map(({ file, text }) => [file, text] as const))(
    '%s quotes only messages the code gives today',
    (_file, text) => {
      for (const line of quoted(text)) expect(messages, line).toContain(line)
    },
  )

  it.each(Object.entries(typical))(
    "%s: the guide's typical configuration is refused with all its unknown options at once, as the guide quotes first",
    (peer, options) => {
      const error = refusal(options)
      expect(error?.code).toBe('ERR_SESSION_INVALID_OPTION')
      const own = guides.find(({ file }) => rows.some((row) => row.peer === peer && row.guide === file))
      expect(own, `no guide for ${peer}`).toBeDefined()
      // Every unknown option is named in the one error, a line each: the guide's first lines.
      const lines = error?.message.split('\n') ?? []
      expect(lines.length).toBeGreaterThan(1)
      expect(quoted(own?.text ?? '').slice(0, lines.length)).toEqual(lines)
    },
  )
})
