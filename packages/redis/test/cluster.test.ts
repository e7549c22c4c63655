import { describeRevocationConformance, describeStoreConformance, testId } from '@x/session-conformance-tests'
import { Cluster } from 'ioredis'
import { createCluster } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisRevocations, redisStore } from '../src/index.js'
import { type ClusterProcess, describeWith, redisServerBinary, startCluster } from './helpers.js'

/** What `CLUSTER KEYSLOT` computes, here so the test can show the keys really spread out. */
function slotOf(key: string): number {
  const open = key.indexOf('{')
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1
  const tagged = close > open + 1 ? key.slice(open + 1, close) : key
  let crc = 0
  for (const byte of Buffer.from(tagged)) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}

describeWith('Redis Cluster (3 private masters)', redisServerBinary(), () => {
  let cluster: ClusterProcess
  let nodeRedis: ReturnType<typeof createCluster>
  let ioredis: Cluster

  beforeAll(async () => {
    cluster = await startCluster(3)
    const [first] = cluster.nodes
    nodeRedis = createCluster({ rootNodes: [{ url: first?.url ?? '' }] })
    nodeRedis.on('error', () => {})
    await nodeRedis.connect()
    ioredis = new Cluster([{ host: '127.0.0.1', port: first?.port ?? 0 }], { lazyConnect: true })
    await ioredis.connect()
  }, 20_000)
  afterAll(async () => {
    await nodeRedis?.close().catch(() => undefined)
    ioredis?.disconnect()
    await cluster?.stop()
  })

  describeStoreConformance({
    name: 'redis cluster (node-redis)',
    realTime: true,
    create: () => redisStore({ client: nodeRedis }),
  })
  describeStoreConformance({
    name: 'redis cluster (ioredis)',
    realTime: true,
    create: () => redisStore({ client: ioredis }),
  })
  describeRevocationConformance({
    name: 'redis cluster (node-redis)',
    create: (clock) => redisRevocations({ client: nodeRedis, clock }),
  })
  describeRevocationConformance({
    name: 'redis cluster (ioredis)',
    create: (clock) => redisRevocations({ client: ioredis, clock }),
  })

  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(`with ${kind}`, () => {
      it("S6: one user's sessions on every master are listed and deleted, each script in one slot", async () => {
        const store = redisStore({
          client: kind === 'node-redis' ? nodeRedis : ioredis,
          prefix: `c:${kind}:`,
        })
        const user = `ada-${testId()}`
        const ids = Array.from({ length: 12 }, () => testId())
        // 16384 slots split in three ranges: twelve random ids almost surely meet all three masters.
        const masters = new Set(ids.map((id) => Math.floor(slotOf(`c:${kind}:{${id}}`) / 5462)))
        expect(masters.size).toBeGreaterThan(1)
        for (const id of ids)
          await store.set(id, { data: { id }, createdAt: 1, refreshedAt: 1, version: 1, user }, { ttl: 60 })
        expect((await store.listByUser(user)).sort()).toEqual([...ids].sort())
        expect(await store.deleteByUser(user)).toBe(ids.length)
        for (const id of ids) expect(await store.get(id)).toBeUndefined()
        expect(await store.listByUser(user)).toEqual([])
      })
    })
  }
})
