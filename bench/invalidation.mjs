#!/usr/bin/env node
// How long a Redis near cache in one process may serve a session that another process changed:
// the time from the writer's store write being answered to Redis' invalidation reaching the reader.
//
//   node bench/invalidation.mjs [--changes 1000]   (node-redis v5, REDIS_URL or 127.0.0.1:6379)
//
// Two child processes on the same host (so one monotonic clock): a writer with the plain Redis
// store, a reader whose store has the near cache. For each change the reader first reads the
// session twice (so its copy is cached), then the writer saves it and notes when the save was
// answered, and the reader notes when the invalidation of that key reached its tracking
// connection (stamped in the client's own message listener, just before the store's handler runs).
// A negative time means the invalidation arrived before the writer even had its answer: any
// request that starts after the writer's HTTP response then sees the change.
import { fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '1000' },
    role: { type: 'string' },
    prefix: { type: 'string' },
  },
})
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const now = () => Number(process.hrtime.bigint()) / 1000 // µs, CLOCK_MONOTONIC: shared by the host's processes

if (args.role) await child(args.role)
else await parent()

async function parent() {
  const changes = Number(args.changes)
  const prefix = `xbench:invalidation:${process.pid}:`
  const spawn = (role) =>
    fork(fileURLToPath(import.meta.url), ['--role', role, '--prefix', prefix], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
  const writer = spawn('writer')
  const reader = spawn('reader')
  const ask = async (proc, message) => {
    const reply = once(proc, 'message')
    proc.send(message)
    return (await reply)[0]
  }
  await Promise.all([once(writer, 'message'), once(reader, 'message')])
  const deltas = []
  let stale = 0
  for (let i = 0; i < changes; i++) {
    const id = randomBytes(18).toString('base64url')
    await ask(writer, { op: 'write', id, n: 0 })
    await ask(reader, { op: 'warm', id })
    const { at } = await ask(writer, { op: 'write', id, n: 1 })
    const seen = await ask(reader, { op: 'arrival', id })
    if (seen.arrived === undefined) throw new Error(`no invalidation of change ${i} within 2 s`)
    if (seen.n !== 1) stale++
    deltas.push(seen.arrived - at)
  }
  await Promise.all([ask(writer, { op: 'close' }), ask(reader, { op: 'close' })])
  deltas.sort((a, b) => a - b)
  const q = (p) => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))]
  const fmt = (us) => `${us >= 0 ? '+' : ''}${us.toFixed(0)} µs`
  console.log(`Redis near cache (node-redis): invalidation arrival at the reader minus the writer's answer`)
  console.log(`${changes} changes; negative: the invalidation came first`)
  console.log(
    `min ${fmt(deltas[0])}, p50 ${fmt(q(0.5))}, p90 ${fmt(q(0.9))}, p99 ${fmt(q(0.99))}, max ${fmt(deltas.at(-1))}`,
  )
  console.log(
    `after the writer's answer: ${deltas.filter((d) => d > 0).length} of ${changes}; read stale once the invalidation was in: ${stale}`,
  )
}

async function child(role) {
  const { redisStore } = await import('@x/session-redis')
  const prefix = args.prefix
  const arrivals = new Map()
  const waiting = new Map()
  const stamp = (keys) => {
    const at = now()
    for (const key of Array.isArray(keys) ? keys : []) {
      const name = String(key)
      arrivals.set(name, at)
      waiting.get(name)?.()
    }
  }
  const { client, close } = await connect(role === 'reader' ? stamp : undefined)
  let tracking
  const up = new Promise((resolve) => (tracking = resolve))
  const store = redisStore({
    client,
    prefix,
    ...(role === 'reader'
      ? { nearCache: true, onEvent: (e) => e.type === 'near-cache' && e.state === 'tracking' && tracking() }
      : {}),
  })
  if (role === 'reader') await up
  process.send({ ready: true })
  process.on('message', async ({ op, id, n }) => {
    const key = `${prefix}{${id}}`
    if (op === 'write') {
      const t = Date.now()
      await store.set(id, { data: { n }, createdAt: t, refreshedAt: t, version: n + 1 }, { ttl: 60 })
      const at = now()
      process.send({ at })
    } else if (op === 'warm') {
      await store.get(id)
      await store.get(id)
      arrivals.delete(key)
      process.send({})
    } else if (op === 'arrival') {
      if (!arrivals.has(key)) {
        await Promise.race([
          new Promise((resolve) => waiting.set(key, resolve)),
          new Promise((resolve) => setTimeout(resolve, 2000)),
        ])
        waiting.delete(key)
      }
      const record = await store.get(id)
      process.send({ arrived: arrivals.get(key), n: record?.data.n })
    } else if (op === 'close') {
      await store.delete(id ?? randomBytes(18).toString('base64url')).catch(() => {})
      await close()
      process.send({})
      process.exit(0)
    }
  })
}

/** The app's client; the reader's `duplicate()` (its tracking connection) stamps each invalidation. */
async function connect(stamp) {
  const { createClient } = await import('redis')
  const client = createClient({ url: REDIS_URL })
  await client.connect()
  if (stamp) {
    const duplicate = client.duplicate.bind(client)
    client.duplicate = (...a) => {
      const connection = duplicate(...a)
      const subscribe = connection.subscribe.bind(connection)
      connection.subscribe = (channel, listener, buffers) =>
        subscribe(
          channel,
          (keys, ch) => {
            stamp(keys)
            listener(keys, ch)
          },
          buffers,
        )
      return connection
    }
  }
  return { client, close: () => client.close() }
}
