#!/usr/bin/env node
// CPU per session load of the Redis store, in this process, without HTTP: the plain store, the near
// cache (strict: false) and the near cache (strict, the default), 10 loads at a time, 2 rounds.
//
//   node bench/near-cache-cpu.mjs          (node-redis v5, REDIS_URL or 127.0.0.1:6379)
import { randomBytes } from 'node:crypto'
import { redisStore } from '@x/session-redis'
import { createClient } from 'redis'

const client = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' })
await client.connect()
const variants = { plain: undefined, near: { strict: false }, strict: { strict: true } }
const CONC = 10,
  N = 20000
for (const round of [1, 2])
  for (const [name, nearCache] of Object.entries(variants)) {
    const prefix = `xbench:nccpu:${process.pid}:${name}:`
    let up
    const ready = new Promise((r) => (up = r))
    const store = redisStore({
      client,
      prefix,
      ...(nearCache ? { nearCache, onEvent: (e) => e.state === 'tracking' && up() } : {}),
    })
    if (nearCache) await ready
    const ids = Array.from({ length: CONC }, () => randomBytes(18).toString('base64url'))
    const t = Date.now()
    for (const id of ids)
      await store.set(
        id,
        { data: { user: 'ada', n: 1 }, createdAt: t, refreshedAt: t, version: 1 },
        { ttl: 600 },
      )
    for (const id of ids) await store.get(id)
    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    await Promise.all(
      ids.map(async (id) => {
        for (let i = 0; i < N / CONC; i++) await store.get(id)
      }),
    )
    const cpu = process.cpuUsage(cpu0)
    const wall = performance.now() - w0
    console.log(
      `round ${round} ${name.padEnd(6)} cpu ${((cpu.user + cpu.system) / N).toFixed(1)} µs/get, wall ${((wall * 1000) / N).toFixed(1)} µs/get`,
    )
    for (const id of ids) await store.delete(id)
  }
await client.close()
