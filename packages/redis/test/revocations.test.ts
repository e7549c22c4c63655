import { describeRevocationConformance } from '@x/session-conformance-tests'
import { createTestClock } from '@x/session-core/testing'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisRevocations } from '../src/index.js'
import { deleteKeys, describeWith, probe, REDIS_URL, uniquePrefix } from './helpers.js'

const shared = await probe()
const prefix = uniquePrefix('revocations')

describeWith(`redisRevocations on ${REDIS_URL}`, shared, () => {
  let nodeRedis: ReturnType<typeof createClient>
  let ioredis: Redis

  beforeAll(async () => {
    nodeRedis = createClient({ url: REDIS_URL })
    nodeRedis.on('error', () => {})
    await nodeRedis.connect()
    ioredis = new Redis(REDIS_URL, { lazyConnect: true })
    await ioredis.connect()
  })
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix)
    await nodeRedis?.close()
    ioredis?.disconnect()
  })

  describeRevocationConformance({
    name: 'redis (node-redis)',
    create: (clock) => redisRevocations({ client: nodeRedis, prefix: `${prefix}node:`, clock }),
  })
  describeRevocationConformance({
    name: 'redis (ioredis)',
    create: (clock) => redisRevocations({ client: ioredis, prefix: `${prefix}io:`, clock }),
  })

  describe('keys and ttl', () => {
    it('K7: Redis itself drops a revocation after its ttl, and keeps the longer ttl of two', async () => {
      const p = `${prefix}ttl:`
      const store = redisRevocations({ client: ioredis, prefix: p })
      await store.set('u:ada', 1000, 600)
      await store.set('u:ada', 900, 1)
      const keys = await ioredis.keys(`${p}*`)
      expect(keys).toHaveLength(1)
      const pttl = await ioredis.pttl(keys[0] as string)
      expect(pttl).toBeGreaterThan(590_000)
      expect(pttl).toBeLessThanOrEqual(600_000)
    })

    it('K7: every key is under the prefix, in the subject’s own hash tag', async () => {
      const p = `${prefix}keys:`
      const store = redisRevocations({ client: nodeRedis, prefix: p })
      await store.set('u:}{*', 1, 60)
      await store.set('s:abc', 1, 60)
      const keys = (await ioredis.keys(`${p}*`)).sort()
      expect(keys).toEqual(
        ['u:}{*', 's:abc'].map((s) => `${p}{${Buffer.from(s).toString('base64url')}}`).sort(),
      )
    })

    it('K7: a foreign value under a revocation key reads as none and is replaced by the next set', async () => {
      const p = `${prefix}foreign:`
      const clock = createTestClock(Date.now())
      const store = redisRevocations({ client: ioredis, prefix: p, clock })
      const key = `${p}{${Buffer.from('u:x').toString('base64url')}}`
      await ioredis.set(key, 'not a hash')
      expect(await store.get(['u:x'])).toEqual([undefined])
      await store.set('u:x', 42, 60)
      expect(await store.get(['u:x'])).toEqual([42])
    })

    it('refuses bad subjects and times with ERR_SESSION_INVALID_OPTION', async () => {
      const store = redisRevocations({ client: ioredis, prefix: `${prefix}bad:` })
      for (const call of [
        () => store.get(['']),
        () => store.set('', 1, 60),
        () => store.set('u:\uD800', 1, 60),
        () => store.set('x'.repeat(2000), 1, 60),
        () => store.set('u:a', Number.NaN, 60),
        () => store.set('u:a', 1, 0),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
      }
    })
  })
})
