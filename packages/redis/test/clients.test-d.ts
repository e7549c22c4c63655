import type { SessionStore } from '@x/session-core'
import { Cluster, Redis } from 'ioredis'
import { createClient, createCluster, createSentinel } from 'redis'
import { describe, expectTypeOf, it } from 'vitest'
import { type RedisClientLike, redisStore } from '../src/index.js'

describe('redisStore client types', () => {
  it('accepts node-redis clients, clusters and sentinels and ioredis Redis and Cluster as they come', () => {
    expectTypeOf(createClient()).toExtend<RedisClientLike>()
    expectTypeOf(createClient({ RESP: 3 })).toExtend<RedisClientLike>()
    expectTypeOf(createCluster({ rootNodes: [] })).toExtend<RedisClientLike>()
    expectTypeOf(createSentinel({ name: 'mymaster', sentinelRootNodes: [] })).toExtend<RedisClientLike>()
    expectTypeOf(new Redis()).toExtend<RedisClientLike>()
    expectTypeOf(new Cluster([])).toExtend<RedisClientLike>()
    expectTypeOf(redisStore({ client: new Redis() })).toExtend<Required<Omit<SessionStore, 'unsupported'>>>()
  })

  it('refuses what is not a client', () => {
    // @ts-expect-error a URL is not a client
    redisStore({ client: 'redis://localhost:6379' })
    // @ts-expect-error the client is required
    redisStore({ prefix: 'sess:' })
  })
})
