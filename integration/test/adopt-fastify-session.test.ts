import { createRequire } from 'node:module'
import { Jar, parseSetCookie, type Reply, send } from '@x/session-conformance-tests'
import {
  type ExpressSessionCookiesOptions,
  expressSessionCookies,
  type LegacySessionReader,
  type SessionEvent,
} from '@x/session-core'
import { session } from '@x/session-fastify'
import { RedisStore } from 'connect-redis'
import expressSession, { type Store } from 'express-session'
import type { FastifyPluginCallback } from 'fastify'
import Fastify from 'fastify'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probe } from '../../packages/redis/test/helpers.js'

/**
 * The recipe of docs/migrating/fastify-session.md, "Carrying sessions over": @fastify/session signs
 * its session id as express-session does, only without the `s:` in front of the cookie's value, and
 * keeps express-session's record shape in the same (connect) stores.
 */
function fastifySessionCookies(options: ExpressSessionCookiesOptions): LegacySessionReader {
  const reader = expressSessionCookies(options)
  return {
    ...reader,
    name: '@fastify/session',
    read: (value, now) => reader.read(`s:${value}`, now),
    retire: async (value) => reader.retire?.(`s:${value}`),
  }
}

// Loaded untyped: @fastify/session's types declare its own `request.session`, which would clash with
// @x/session-fastify's in this one program.
const require = createRequire(import.meta.url)
const fastifyCookie = require('@fastify/cookie') as FastifyPluginCallback
const fastifySession = require('@fastify/session') as FastifyPluginCallback<Record<string, unknown>>
type OldSession = { session: { set(key: string, value: unknown): void } }

const OLD_SECRET = 'fastify-session-secret-0123456789-abcdef'
const SECRET = 'x-session-adopt-secret-0123456789-abcdefgh'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `test:x-session-adopt-fastify:${process.pid}:`

const redis = await probe(REDIS_URL)
if (!redis.ok && process.env.CI === 'true')
  throw new Error(`adopt-fastify-session test: ${redis.reason} (CI=true, so this fails)`)
if (!redis.ok) console.warn(`skipped: connect-redis cases: ${redis.reason}`)

/** A real @fastify/session app on `store`: GET /login writes data and answers with its cookie's value. */
async function fastifySessionApp(store: Store) {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: OLD_SECRET,
    store,
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 3_600_000 },
  })
  app.get('/login', async (request) => {
    const { session: old } = request as unknown as OldSession
    old.set('user', 'ada')
    old.set('cart', [1, 2])
    return 'ok'
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    async login() {
      const res = await fetch(`${url}/login`)
      const cookie = res.headers.getSetCookie().map(parseSetCookie)[0]
      expect(cookie?.name).toBe('sessionId')
      return cookie?.value ?? ''
    },
    close: () => app.close(),
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

const cleared = (reply: Reply, name: string) =>
  reply.setCookie
    .map(parseSetCookie)
    .some((c) => c.name === name && c.value === '' && c.attributes.get('max-age') === '0')

describe.each(stores)(
  'adopt: a Fastify app leaving @fastify/session (%s) keeps its users logged in',
  (_name, open) => {
    let old: Awaited<ReturnType<typeof fastifySessionApp>>
    let closeStore: () => Promise<void>
    let url: string
    let closeApp: () => Promise<unknown>
    let store: Store
    const events: SessionEvent[] = []
    beforeAll(async () => {
      ;({ store, close: closeStore } = await open())
      old = await fastifySessionApp(store)
      const app = Fastify()
      await app.register(session, {
        secret: SECRET,
        onEvent: (event) => events.push(event),
        adopt: fastifySessionCookies({ store, secret: OLD_SECRET, cookieName: 'sessionId' }),
      })
      app.get('/me', async (request) => ({ isNew: request.session.isNew, data: request.session.toJSON() }))
      url = await app.listen({ port: 0, host: '127.0.0.1' })
      closeApp = () => app.close()
    })
    afterAll(async () => {
      await old.close()
      await closeApp()
      await closeStore()
    })

    it('a live cookie is carried over on first use; the old cookie is cleared and its record deleted', async () => {
      const value = await old.login()
      events.length = 0
      const first = await send(`${url}/me`, { cookie: `sessionId=${value}` })
      expect(first.json()).toEqual({ isNew: true, data: { user: 'ada', cart: [1, 2] } })
      expect(cleared(first, 'sessionId')).toBe(true)
      expect(events).toContainEqual({ type: 'legacy', from: '@fastify/session', outcome: 'adopted' })
      const jar = new Jar().apply(first)
      expect((await send(`${url}/me`, { cookie: jar.header() })).json()).toEqual({
        isNew: false,
        data: { user: 'ada', cart: [1, 2] },
      })
      // Replayed after the carry-over: its record is gone, so it is no session.
      const replay = await send(`${url}/me`, { cookie: `sessionId=${value}` })
      expect(replay.json()).toEqual({ isNew: true, data: {} })
    })

    it('a tampered cookie, or one signed by another secret, is no session', async () => {
      const value = await old.login()
      const raw = decodeURIComponent(value)
      const last = raw.at(-1) === 'A' ? 'B' : 'A'
      for (const forged of [`${raw.slice(0, -1)}${last}`, `x${raw}`, raw.split('.')[0] ?? '']) {
        events.length = 0
        const reply = await send(`${url}/me`, { cookie: `sessionId=${encodeURIComponent(forged)}` })
        expect(reply.json()).toEqual({ isNew: true, data: {} })
        expect(events).toContainEqual({ type: 'legacy', from: '@fastify/session', outcome: 'no-session' })
      }
      const other = fastifySessionCookies({ store, secret: 'another-secret-0123456789-abcdefghijkl' })
      expect(await other.read(value, Date.now())).toBeUndefined()
      // The untouched cookie still reads: the cases above failed for what was changed.
      expect(await fastifySessionCookies({ store, secret: OLD_SECRET }).read(value, Date.now())).toEqual({
        data: { user: 'ada', cart: [1, 2] },
      })
    })

    it('without the recipe, expressSessionCookies() alone reads no @fastify/session cookie', async () => {
      const value = await old.login()
      const plain = expressSessionCookies({ store, secret: OLD_SECRET, cookieName: 'sessionId' })
      expect(await plain.read(value, Date.now())).toBeUndefined()
    })
  },
)
