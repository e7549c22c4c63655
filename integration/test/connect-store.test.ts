import type { AddressInfo } from 'node:net'
import { describeStoreConformance, Jar, parseSetCookie, send } from '@x/session-conformance-tests'
import { connectStore, type SessionEvent } from '@x/session-core'
import { session } from '@x/session-express'
import { RedisStore } from 'connect-redis'
import express from 'express'
import expressSession from 'express-session'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  deleteKeys,
  describeWith,
  probe,
  REDIS_URL,
  uniquePrefix,
} from '../../packages/redis/test/helpers.js'

const SECRET = 'connect-store-integration-0123456789-abcdef'
/** The session's data, as this app's handlers write it. */
const data = (req: express.Request) =>
  req.session as unknown as { user?: string; cart: { items: string[] }; [key: string]: unknown }
const redis = await probe(REDIS_URL)
const prefix = uniquePrefix('connect')

// What a connect store cannot do, declared: the suite reports S3 and S6 as not supported by it.
const declared = { realTime: true, versionedSet: false, userIndex: false } as const

describeStoreConformance({
  name: 'connectStore(express-session MemoryStore)',
  ...declared,
  create: () => connectStore(new expressSession.MemoryStore()),
})

describeWith(`connectStore(connect-redis) on ${REDIS_URL}`, redis, () => {
  let client: ReturnType<typeof createClient>
  beforeAll(async () => {
    client = createClient({ url: REDIS_URL })
    client.on('error', () => {})
    await client.connect()
  })
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await client?.close()
  })

  describeStoreConformance({
    name: 'connectStore(connect-redis, node-redis)',
    ...declared,
    create: () => connectStore(new RedisStore({ client, prefix: `${prefix}suite:` })),
    namespaced: (namespace) => connectStore(new RedisStore({ client, prefix: `${prefix}${namespace}:` })),
  })

  describe('an Express app on connectStore(connect-redis)', () => {
    const keyPrefix = `${prefix}app:`
    const events: SessionEvent[] = []
    let url: string
    let close: () => Promise<unknown>
    beforeAll(async () => {
      const app = express()
      app.use(
        session({
          secret: SECRET,
          store: connectStore(new RedisStore({ client, prefix: keyPrefix })),
          idleTimeout: 600,
          onEvent: (event) => events.push(event),
        }),
      )
      app.get('/login', (req, res) => {
        data(req).user = 'ada'
        data(req).cart = { items: ['apple'] }
        res.json({ id: req.session.id })
      })
      app.get('/add', (req, res) => {
        data(req).cart.items.push('pear')
        res.json({ id: req.session.id })
      })
      app.get('/mark/:key', (req, res) => {
        data(req)[`mark-${req.params.key}`] = true
        res.json({ id: req.session.id })
      })
      app.get('/me', (req, res) => {
        res.json({ isNew: req.session.isNew, id: req.session.id, data: req.session.toJSON() })
      })
      app.get('/regenerate', async (req, res) => {
        await req.session.regenerate({ keep: true })
        res.json({ id: req.session.id })
      })
      app.get('/logout', async (req, res) => {
        await req.session.destroy()
        res.json({ ok: true })
      })
      const server = app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      close = () => new Promise((resolve) => server.close(resolve))
    })
    afterAll(() => close?.())

    const login = async () => {
      const reply = await send(`${url}/login`)
      return { jar: new Jar().apply(reply), id: reply.json().id as string }
    }

    it('L1: a login is kept in Redis as connect-redis keeps sessions, with its ttl from cookie.expires, and read back', async () => {
      const { jar, id } = await login()
      const raw = await client.get(`${keyPrefix}${id}`)
      expect(raw).toBeTruthy()
      const stored = JSON.parse(raw as string)
      expect(stored['@x/session']).toMatchObject({
        format: 1,
        data: { user: 'ada', cart: { items: ['apple'] } },
      })
      expect(new Date(stored.cookie.expires).getTime()).toBeGreaterThan(Date.now() + 590_000)
      const ttl = await client.pTTL(`${keyPrefix}${id}`)
      expect(ttl).toBeGreaterThan(590_000)
      expect(ttl).toBeLessThanOrEqual(601_000)

      // L2: a nested change is written back, and the next request reads it.
      expect((await send(`${url}/add`, { cookie: jar.header() })).json().id).toBe(id)
      expect((await send(`${url}/me`, { cookie: jar.header() })).json()).toEqual({
        isNew: false,
        id,
        data: { user: 'ada', cart: { items: ['apple', 'pear'] } },
      })
    })

    it('L4: destroy deletes the Redis key and clears the cookie; the old cookie is then no session', async () => {
      const { jar, id } = await login()
      const reply = await send(`${url}/logout`, { cookie: jar.header() })
      expect(reply.setCookie.map(parseSetCookie).some((c) => c.name === 'session' && c.value === '')).toBe(
        true,
      )
      expect(await client.exists(`${keyPrefix}${id}`)).toBe(0)
      expect((await send(`${url}/me`, { cookie: jar.header() })).json()).toMatchObject({
        isNew: true,
        data: {},
      })
    })

    it('L3: regenerate moves the session to a new key, deletes the old one, and the old cookie is no session', async () => {
      const { jar, id } = await login()
      const old = jar.header()
      const reply = await send(`${url}/regenerate`, { cookie: old })
      const next = reply.json().id as string
      expect(next).not.toBe(id)
      expect(await client.exists(`${keyPrefix}${id}`)).toBe(0)
      expect(await client.exists(`${keyPrefix}${next}`)).toBe(1)
      jar.apply(reply)
      expect((await send(`${url}/me`, { cookie: jar.header() })).json()).toEqual({
        isNew: false,
        id: next,
        data: { user: 'ada', cart: { items: ['apple'] } },
      })
      expect((await send(`${url}/me`, { cookie: old })).json()).toMatchObject({ isNew: true, data: {} })
    })

    it('S4: parallel requests of one session writing different keys all persist (one process)', async () => {
      const { jar, id } = await login()
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => send(`${url}/mark/${i}`, { cookie: jar.header() })),
      )
      const { data } = (await send(`${url}/me`, { cookie: jar.header() })).json()
      expect(data).toEqual({
        user: 'ada',
        cart: { items: ['apple'] },
        ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`mark-${i}`, true])),
      })
      expect(JSON.parse((await client.get(`${keyPrefix}${id}`)) as string)['@x/session'].version).toBe(11)
    })

    it('T6: a record express-session wrote under the session’s key is no session, not a 500', async () => {
      const { jar, id } = await login()
      await client.set(
        `${keyPrefix}${id}`,
        JSON.stringify({ cookie: { expires: new Date(Date.now() + 60_000) }, user: 'mallory' }),
      )
      events.length = 0
      const reply = await send(`${url}/me`, { cookie: jar.header() })
      expect(reply.status).toBe(200)
      expect(reply.json()).toMatchObject({ isNew: true, data: {} })
      expect(events).toContainEqual({ type: 'invalid', reason: 'not-found', cookie: 'session' })
    })
  })
})
