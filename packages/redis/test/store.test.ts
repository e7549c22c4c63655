import { describeStoreConformance, testId } from '@x/session-conformance-tests'
import { createSessionManager, type SessionEvent, type StoredSession } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import { describe, expect, it } from 'vitest'
import { type RedisStoreEvent, redisStore } from '../src/index.js'
import { describeWith, probe, REDIS_URL, sharedClients, uniquePrefix } from './helpers.js'

const shared = await probe()
const prefix = uniquePrefix('store')
const SECRET = 'redis-store-test-secret-0123456789-abcdef'

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version, ...(user === undefined ? {} : { user }) }
}

describeWith(`redisStore on ${REDIS_URL}`, shared, () => {
  const clients = sharedClients(prefix)

  describeStoreConformance({
    name: 'redis (node-redis)',
    realTime: true,
    create: () => redisStore({ client: clients.nodeRedis, prefix: `${prefix}node:` }),
    namespaced: (namespace) => redisStore({ client: clients.nodeRedis, prefix: `${prefix}${namespace}:` }),
  })
  describeStoreConformance({
    name: 'redis (ioredis)',
    realTime: true,
    create: () => redisStore({ client: clients.ioredis, prefix: `${prefix}io:` }),
    namespaced: (namespace) => redisStore({ client: clients.ioredis, prefix: `${prefix}${namespace}:` }),
  })

  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(`with ${kind}`, () => {
      const p = `${prefix}${kind}:`
      const events: RedisStoreEvent[] = []
      const store = () =>
        redisStore({
          client: kind === 'node-redis' ? clients.nodeRedis : clients.ioredis,
          prefix: p,
          onEvent: (e) => events.push(e),
        })
      const userKey = (user: string) => `${p}user:{${Buffer.from(user).toString('base64url')}}`

      it('S8: a session is one hash at <prefix>{<id>}; its user index is at <prefix>user:{<base64url user>}', async () => {
        const id = testId()
        await store().set(id, record({ a: 1 }, 1, 'ada'), { ttl: 60 })
        expect(await clients.admin.type(`${p}{${id}}`)).toBe('hash')
        // Each top-level key is a field named by its JSON, holding its value's JSON.
        expect(await clients.admin.hgetall(`${p}{${id}}`)).toMatchObject({ '"a"': '1', v: '1', u: 'ada' })
        expect(await clients.admin.type(userKey('ada'))).toBe('zset')
        expect(await clients.admin.zrange(userKey('ada'), 0, -1)).toContain(id)
        // Nothing outside the prefix.
        expect(await clients.admin.exists(`{${id}}`, `sess:{${id}}`)).toBe(0)
      })

      it('S2: the Redis ttl is the ttl given (seconds); touch sets a new one and leaves the data field alone', async () => {
        const id = testId()
        const s = store()
        await s.set(id, record({ a: 1 }), { ttl: 60 })
        const pttl = await clients.admin.pttl(`${p}{${id}}`)
        expect(pttl).toBeGreaterThan(59_000)
        expect(pttl).toBeLessThanOrEqual(60_000)
        const before = await clients.admin.hget(`${p}{${id}}`, '"a"')
        await s.touch(id, 120, 42)
        expect(await clients.admin.pttl(`${p}{${id}}`)).toBeGreaterThan(119_000)
        expect(await clients.admin.hget(`${p}{${id}}`, '"a"')).toBe(before)
        expect(await clients.admin.hget(`${p}{${id}}`, 'r')).toBe('42')
      })

      it('S6: the user index outlives every session it lists, also when touch extends one', async () => {
        const id = testId()
        const user = `long-${testId()}`
        const s = store()
        await s.set(id, record({}, 1, user), { ttl: 60 })
        await s.touch(id, 7200, 1)
        const session = await clients.admin.pttl(`${p}{${id}}`)
        expect(session).toBeGreaterThan(7_199_000)
        expect(await clients.admin.pttl(userKey(user))).toBeGreaterThan(session)
        expect(Number(await clients.admin.zscore(userKey(user), id))).toBeGreaterThan(Date.now() + session)
        expect(await s.listByUser(user)).toEqual([id])
      })

      it('S6: a rebound session leaves its old user, an unbound one leaves every user', async () => {
        const id = testId()
        const [u1, u2] = [`u1-${testId()}`, `u2-${testId()}`]
        const s = store()
        await s.set(id, record({ n: 1 }, 1, u1), { ttl: 60, expectVersion: 0 })
        expect(await s.listByUser(u1)).toEqual([id])
        expect(await s.set(id, record({ n: 2 }, 2, u2), { ttl: 60, expectVersion: 1 })).toBe('ok')
        expect(await s.listByUser(u1)).toEqual([])
        expect(await s.listByUser(u2)).toEqual([id])
        expect(await s.deleteByUser(u1)).toBe(0)
        expect((await s.get(id))?.user).toBe(u2)
        expect(await s.set(id, record({ n: 3 }, 3), { ttl: 60, expectVersion: 2 })).toBe('ok')
        expect(await s.listByUser(u2)).toEqual([])
        expect((await s.get(id))?.user).toBeUndefined()
      })

      it('S8: users cannot break out of their key, however they are spelled', async () => {
        const users = [
          '}',
          '{x}',
          '*',
          'a*',
          'a',
          'a}',
          'sess:{x}',
          'line\nbreak',
          'ü 😀',
          `${'z'.repeat(1000)}`,
        ]
        const s = store()
        const ids = new Map(users.map((u) => [u, testId()]))
        for (const [user, id] of ids) await s.set(id, record({ user }, 1, user), { ttl: 60 })
        for (const [user, id] of ids) {
          expect(await s.listByUser(user)).toEqual([id])
          expect(await clients.admin.exists(userKey(user))).toBe(1)
        }
        expect(await s.deleteByUser('a*')).toBe(1)
        expect(await s.listByUser('a')).toEqual([ids.get('a')])
        expect(await s.listByUser('*')).toEqual([ids.get('*')])
        // A lone surrogate would be stored as U+FFFD and collide with another user: refused.
        await expect(s.set(testId(), record({}, 1, 'x\uD800'), { ttl: 60 })).rejects.toMatchObject({
          code: 'ERR_SESSION_INVALID_OPTION',
        })
        await expect(s.listByUser('')).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
      })

      it('S2: with a clock, a record expires by it too, for tests that move time (the adapter suite)', async () => {
        const clock = createTestClock(Date.now())
        const s = redisStore({
          client: kind === 'node-redis' ? clients.nodeRedis : clients.ioredis,
          prefix: p,
          clock,
        })
        const [id, bound] = [testId(), testId()]
        const user = `clocked-${testId()}`
        await s.set(id, record({ a: 1 }), { ttl: 60 })
        await s.set(bound, record({ b: 1 }, 1, user), { ttl: 121 })
        clock.advance(59)
        expect(await s.get(id)).toBeDefined()
        await s.touch(id, 60, 2)
        clock.advance(61)
        // Past its expiry by the clock, though Redis still holds it: gone, and not revived by touch.
        expect(await clients.admin.exists(`${p}{${id}}`)).toBe(1)
        expect(await s.get(id)).toBeUndefined()
        await s.touch(id, 60, 3)
        expect(await s.get(id)).toBeUndefined()
        expect(await s.set(id, record({ a: 2 }, 2), { ttl: 60, expectVersion: 1 })).toBe('conflict')
        expect(await s.set(id, record({ a: 3 }, 1), { ttl: 60, expectVersion: 0 })).toBe('ok')
        expect(await s.listByUser(user)).toEqual([bound])
        clock.advance(1)
        expect(await s.listByUser(user)).toEqual([])
        expect(await s.deleteByUser(user)).toBe(0)
      })

      it('S3: an unconditional set writes whatever was there; a conditional one never overwrites a foreign key', async () => {
        const id = testId()
        await clients.admin.set(`${p}{${id}}`, 'not a hash')
        const s = store()
        expect(await s.set(id, record({ a: 1 }, 1), { ttl: 60, expectVersion: 0 })).toBe('conflict')
        expect(await clients.admin.get(`${p}{${id}}`)).toBe('not a hash')
        expect(await s.set(id, record({ a: 2 }, 5), { ttl: 60 })).toBe('ok')
        expect(await s.get(id)).toMatchObject({ data: { a: 2 }, version: 5 })
      })

      it('a corrupt record reads as missing, is reported without its id, and is left in place', async () => {
        const s = store()
        const cases: [string, (key: string) => Promise<unknown>][] = [
          ['bad-data', (key) => clients.admin.hset(key, { '"a"': 'not json{', c: 1, r: 1, v: 1 })],
          ['bad-data', (key) => clients.admin.hset(key, { '"a': '1', c: 1, r: 1, v: 1 })],
          ['bad-data', (key) => clients.admin.hset(key, { '"a"': '', c: 1, r: 1, v: 1 })],
          ['bad-fields', (key) => clients.admin.hset(key, { '"a"': '1', c: 1, r: 'soon', v: 1 })],
          ['bad-fields', (key) => clients.admin.hset(key, { '"a"': '1' })],
          ['wrong-type', (key) => clients.admin.set(key, '{"data":{}}')],
          ['wrong-type', (key) => clients.admin.rpush(key, 'x')],
        ]
        for (const [reason, write] of cases) {
          const id = testId()
          await write(`${p}{${id}}`)
          events.length = 0
          expect(await s.get(id)).toBeUndefined()
          expect(events).toEqual([{ type: 'corrupt', reason }])
          expect(JSON.stringify(events)).not.toContain(id)
          expect(await clients.admin.exists(`${p}{${id}}`)).toBe(1)
          // touch neither repairs nor fails on it.
          await s.touch(id, 60, 1)
        }
        const missing = testId()
        events.length = 0
        expect(await s.get(missing)).toBeUndefined()
        expect(events).toEqual([])
      })

      it('X7/S6 through the engine: a corrupt record is no session; endUserSessions ends every session of a user', async () => {
        const s = store()
        const engineEvents: SessionEvent[] = []
        const manager = createSessionManager<{ name: string }>({
          secret: SECRET,
          store: s,
          onEvent: (e) => engineEvents.push(e),
        })
        const login = async (user: string) => {
          const cycle = manager.begin({ cookieHeader: undefined })
          const session = await cycle.load()
          session.set('name', user)
          session.bindUser(user)
          const { setCookie } = await cycle.commit()
          return { cookie: (setCookie[0] ?? '').split(';')[0] ?? '', id: session.id }
        }
        const user = `ada-${testId()}`
        const a = await login(user)
        const b = await login(user)
        const other = await login(`bob-${testId()}`)
        expect((await manager.listUserSessions(user)).sort()).toEqual([a.id, b.id].sort())

        await clients.admin.hset(`${p}{${a.id}}`, '"name"', 'garbage')
        const corrupt = await manager.begin({ cookieHeader: a.cookie }).load()
        expect(corrupt.isNew).toBe(true)
        expect(engineEvents).toContainEqual({ type: 'invalid', reason: 'not-found', cookie: 'session' })

        await manager.endUserSessions(user)
        expect(await manager.listUserSessions(user)).toEqual([])
        expect((await manager.begin({ cookieHeader: b.cookie }).load()).isNew).toBe(true)
        expect((await manager.begin({ cookieHeader: other.cookie }).load()).isNew).toBe(false)
      })
    })
  }
})
