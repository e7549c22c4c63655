import type { AddressInfo } from 'node:net'
import { Jar, parseSetCookie, type Reply, send } from '@x/session-conformance-tests'
import {
  expressSessionCookies,
  ironSessionCookies,
  type LegacySessionReader,
  type SessionEvent,
} from '@x/session-core'
import { session } from '@x/session-express'
import { RedisStore } from 'connect-redis'
import express from 'express'
import expressSession, { type Store } from 'express-session'
import { sealData } from 'iron-session'
import { sealData as sealDataV8 } from 'iron-session8'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probe } from '../../packages/redis/test/helpers.js'

const IRON_PASSWORD = 'iron-session-password-0123456789-abcdef'
const EXPRESS_SECRET = 'express-session-secret-0123456789-abcdef'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `test:x-session-adopt:${process.pid}:`

const redis = await probe(REDIS_URL)
if (!redis.ok && process.env.CI === 'true')
  throw new Error(`adopt test: ${redis.reason} (CI=true, so this fails)`)
if (!redis.ok) console.warn(`skipped: connect-redis cases: ${redis.reason}`)

describe('ironSessionCookies reads what the real iron-session sealed', () => {
  const reader = ironSessionCookies({ password: IRON_PASSWORD, cookieName: 'app' })
  const now = () => Date.now()

  it.each([
    ['iron-session 9', sealData],
    ['iron-session 8', sealDataV8],
  ])(
    '%s: a live cookie gives its data; tampered, foreign or expired ones are no session',
    async (_v, seal) => {
      const data = { user: { id: 42, admin: false }, cart: ['apple'] }
      const cookie = await seal(data, { password: IRON_PASSWORD, ttl: 3600 })
      expect(await reader.read(cookie, now())).toEqual({ data })
      // As a browser sends it back after `cookie`'s encoding: the same.
      expect(await reader.read(encodeURIComponent(cookie), now())).toEqual({ data })

      // The MAC's first character, whatever it is (base64url: `-` and `_` too, one token in 32).
      const flipped = cookie.replace(
        /\*([^*])([^*]*)~2$/,
        (_m, c: string, rest: string) => `*${c === 'A' ? 'B' : 'A'}${rest}~2`,
      )
      expect(flipped).not.toBe(cookie)
      expect(await reader.read(flipped, now())).toBeUndefined()
      const foreign = await seal(data, { password: 'another-password-0123456789-abcdefghij', ttl: 3600 })
      expect(await reader.read(foreign, now())).toBeUndefined()
      expect(await reader.read(cookie, now() + 2 * 3600 * 1000)).toBeUndefined()
      expect(await reader.read(`${cookie.slice(0, -1)}3`, now())).toBeUndefined()
      for (const junk of ['', 'Fe26.2', '%E0%A4%A', 'x'.repeat(10_000)])
        expect(await reader.read(junk, now())).toBeUndefined()
    },
  )

  it('a password map reads tokens sealed under any of its ids; ttl 0 is refused at construction', async () => {
    const passwords = { 1: IRON_PASSWORD, 2: 'rotated-password-0123456789-abcdefghij' }
    const cookie = await sealData({ n: 1 }, { password: passwords, ttl: 3600 })
    const rotated = ironSessionCookies({ password: passwords, cookieName: 'app' })
    expect(await rotated.read(cookie, now())).toEqual({ data: { n: 1 } })
    expect(await reader.read(cookie, now())).toBeUndefined()
    expect(() => ironSessionCookies({ password: IRON_PASSWORD, cookieName: 'app', ttl: 0 })).toThrow(
      TypeError,
    )
  })
})

/** A real express-session app on `store`: GET /login writes data, and answers with its Set-Cookie. */
async function expressSessionApp(store: Store) {
  const app = express()
  app.use(
    expressSession({
      secret: EXPRESS_SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
    }),
  )
  app.get('/login', (req, res) => {
    ;(req as unknown as { session: Record<string, unknown> }).session.user = 'ada'
    ;(req as unknown as { session: Record<string, unknown> }).session.passport = { user: 'u1' }
    res.json({ sid: (req as unknown as { sessionID: string }).sessionID })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    async login() {
      const res = await fetch(`${url}/login`)
      const setCookie = res.headers.getSetCookie()[0] ?? ''
      return {
        value: setCookie.slice('connect.sid='.length).split(';')[0] ?? '',
        sid: ((await res.json()) as { sid: string }).sid,
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

const stores: Array<[string, () => Promise<{ store: Store; close(): Promise<void> }>]> = [
  ['MemoryStore', async () => ({ store: new expressSession.MemoryStore(), close: async () => {} })],
]
if (redis.ok) {
  stores.push([
    'connect-redis',
    async () => {
      const client = createClient({ url: REDIS_URL })
      await client.connect()
      return {
        store: new RedisStore({ client, prefix: PREFIX }) as unknown as Store,
        async close() {
          const keys = await client.keys(`${PREFIX}*`)
          if (keys.length) await client.del(keys)
          await client.quit()
        },
      }
    },
  ])
}

describe.each(stores)(
  'expressSessionCookies reads express-session’s signed cookie and its %s record',
  (_name, open) => {
    let store: Store
    let close: () => Promise<void>
    let app: Awaited<ReturnType<typeof expressSessionApp>>
    let reader: LegacySessionReader
    beforeAll(async () => {
      ;({ store, close } = await open())
      app = await expressSessionApp(store)
      reader = expressSessionCookies({
        store,
        secret: ['an-older-secret-0123456789-abcdefghijk', EXPRESS_SECRET],
      })
    })
    afterAll(async () => {
      await app.close()
      await close()
    })

    it('a live cookie gives the data without express-session’s cookie entry; retire() deletes the record', async () => {
      const { value } = await app.login()
      expect(await reader.read(value, Date.now())).toEqual({
        data: { user: 'ada', passport: { user: 'u1' } },
      })
      await reader.retire?.(value)
      expect(await reader.read(value, Date.now())).toBeUndefined()
    })

    it('a cookie signed by another secret, a changed id or signature, or a non-canonical signature is no session', async () => {
      const { value } = await app.login()
      const raw = decodeURIComponent(value)
      const [sid, signature = ''] = raw.slice(2).split('.')
      const other = expressSessionCookies({ store, secret: 'unrelated-secret-0123456789-abcdefghij' })
      expect(await other.read(value, Date.now())).toBeUndefined()
      const last = signature.at(-1) === 'A' ? 'B' : 'A'
      const cases = [
        `s:${sid}.${signature.slice(0, -1)}${last}`,
        `s:${sid?.slice(0, -1)}x.${signature}`,
        `s:${sid}.${signature}=`,
        `${sid}.${signature}`,
        `s:${sid}`,
        '',
      ]
      for (const forged of cases)
        expect(await reader.read(encodeURIComponent(forged), Date.now())).toBeUndefined()
      // The untouched cookie still reads: the cases above failed for what was changed.
      expect(await reader.read(value, Date.now())).toMatchObject({ data: { user: 'ada' } })
    })

    it('an expired record is no session', async () => {
      const { value } = await app.login()
      expect(await reader.read(value, Date.now() + 2 * 3_600_000)).toBeUndefined()
    })
  },
)

describe('adopt: an Express app switched from iron-session and express-session keeps its users logged in', () => {
  const SECRET = 'x-session-adopt-secret-0123456789-abcdefgh'
  let legacyStore: Store
  let old: Awaited<ReturnType<typeof expressSessionApp>>
  let url: string
  let close: () => Promise<unknown>
  const events: SessionEvent[] = []
  beforeAll(async () => {
    legacyStore = new expressSession.MemoryStore()
    old = await expressSessionApp(legacyStore)
    const app = express()
    app.use(
      session({
        secret: SECRET,
        onEvent: (event) => events.push(event),
        adopt: [
          ironSessionCookies({ password: IRON_PASSWORD, cookieName: 'app' }),
          expressSessionCookies({ store: legacyStore, secret: EXPRESS_SECRET }),
        ],
      }),
    )
    app.get('/me', (req, res) => {
      res.json({ isNew: req.session.isNew, data: req.session.toJSON() })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () => new Promise((resolve) => server.close(resolve))
  })
  afterAll(async () => {
    await old.close()
    await close()
  })

  const cleared = (reply: Reply, name: string) =>
    reply.setCookie
      .map(parseSetCookie)
      .some((c) => c.name === name && c.value === '' && c.attributes.get('max-age') === '0')

  it('an iron-session cookie becomes this library’s session on first use, and the old cookie is cleared', async () => {
    const cookie = await sealData({ user: 'ada', cart: [1] }, { password: IRON_PASSWORD, ttl: 3600 })
    events.length = 0
    const first = await send(`${url}/me`, { cookie: `app=${cookie}` })
    expect(first.json().data).toEqual({ user: 'ada', cart: [1] })
    expect(cleared(first, 'app')).toBe(true)
    expect(events).toContainEqual({ type: 'legacy', from: 'iron-session', outcome: 'adopted' })
    const jar = new Jar().apply(first)
    expect(jar.get('session')).toBeTruthy()
    expect((await send(`${url}/me`, { cookie: jar.header() })).json()).toEqual({
      isNew: false,
      data: { user: 'ada', cart: [1] },
    })
  })

  it('an express-session cookie is carried over from its store, whose record is then deleted', async () => {
    const { value } = await old.login()
    const first = await send(`${url}/me`, { cookie: `connect.sid=${value}` })
    expect(first.json().data).toEqual({ user: 'ada', passport: { user: 'u1' } })
    expect(cleared(first, 'connect.sid')).toBe(true)
    const jar = new Jar().apply(first)
    expect((await send(`${url}/me`, { cookie: jar.header() })).json().data).toEqual({
      user: 'ada',
      passport: { user: 'u1' },
    })
    // Replaying the old cookie after the carry-over: its record is gone, so it is no session.
    const replay = await send(`${url}/me`, { cookie: `connect.sid=${value}` })
    expect(replay.json()).toEqual({ isNew: true, data: {} })
    expect(cleared(replay, 'connect.sid')).toBe(true)
  })

  it('a tampered or expired old cookie is no session, reported and cleared; a session of this library wins over an old cookie', async () => {
    const cookie = await sealData(
      { user: 'ada' },
      { password: 'another-password-0123456789-abcdefghij', ttl: 3600 },
    )
    events.length = 0
    const forged = await send(`${url}/me`, { cookie: `app=${cookie}` })
    expect(forged.json()).toEqual({ isNew: true, data: {} })
    expect(cleared(forged, 'app')).toBe(true)
    expect(forged.setCookie.map(parseSetCookie).some((c) => c.name === 'session')).toBe(false)
    expect(events).toContainEqual({ type: 'legacy', from: 'iron-session', outcome: 'no-session' })

    const mine = new Jar().apply(
      await send(`${url}/me`, {
        cookie: `app=${await sealData({ user: 'bo' }, { password: IRON_PASSWORD, ttl: 3600 })}`,
      }),
    )
    const stale = await sealData({ user: 'mallory' }, { password: IRON_PASSWORD, ttl: 3600 })
    const both = await send(`${url}/me`, { cookie: `${mine.header()}; app=${stale}` })
    expect(both.json()).toEqual({ isNew: false, data: { user: 'bo' } })
  })
})
