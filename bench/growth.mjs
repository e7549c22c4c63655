/**
 * How a session's cost grows, on Fastify (this project and the Fastify peers, each server its own
 * process as in run.mjs):
 *
 *   - server CPU µs per request against session size: about 100 B, 1 KB, 3 KB of JSON, and 4.4 KB,
 *     whose sealed cookie (about 6 KB) is split into two chunks; read and write;
 *   - p50 / p99 latency of a read and of a write at 10 and at 100 connections (1 KB sessions);
 *   - bytes of Redis memory per session: `INFO memory` before and after writing N sessions of
 *     200 bytes through the store (this project's Redis store, and connect-redis as
 *     express-session and @fastify/session use it), then deleted. Redis is shared: the figure is
 *     the difference of `used_memory`, so other clients' writes meanwhile end up in it.
 *
 *   node growth.mjs [--quick]      progress on stderr, JSON on stdout (run.mjs runs it)
 *   node growth.mjs --markdown     the same, then the tables as markdown on stderr
 *
 * A peer that cannot hold a size (a cookie over 4 KB that it does not split) is reported as such.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { seed, verify } from './lib/http.mjs'
import { processCpuSeconds, setupPinning, startServer } from './lib/procs.mjs'

const { values: args } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, markdown: { type: 'boolean', default: false } },
})
const quick = args.quick
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const runId = `${Date.now().toString(36)}${process.pid}`
const secret = `growth-secret-${runId}-0123456789abcdefghijklmnop`
const progress = (line) => process.stderr.write(`${line}\n`)

/** [label, bytes of session JSON] */
const SIZES = quick
  ? [
      ['100 B', 100],
      ['4.4 KB (chunked)', 4400],
    ]
  : [
      ['100 B', 100],
      ['1 KB', 1024],
      ['3 KB', 3072],
      ['4.4 KB (chunked)', 4400],
    ]
/** [library, store, label] on Fastify */
const ALL_LIBRARIES = [
  ['x-session', 'cookie', '@x/session (cookie store)'],
  ['x-session', 'memory', '@x/session (memory store)'],
  ['@fastify/secure-session', 'cookie', '@fastify/secure-session'],
  ['@fastify/session', 'memory', '@fastify/session (memory)'],
]
const LIBRARIES = quick ? [ALL_LIBRARIES[0], ALL_LIBRARIES[2]] : ALL_LIBRARIES
/** Quick (CI smoke): this project's cookie store only for latency, one peer for size. */
const LATENCY_LIBRARIES = quick ? LIBRARIES.slice(0, 1) : LIBRARIES
const DURATION = quick ? 1 : 3
const WARMUP = quick ? 300 : 2000
const CONNECTION_COUNTS = quick ? [100] : [10, 100]
const REDIS_SESSIONS = quick ? 1_000 : 100_000

const pinning = setupPinning()

function spec(library, store, sessionBytes) {
  return {
    framework: 'fastify',
    library,
    store,
    secret,
    sessionBytes,
    redisUrl: REDIS_URL,
    redisPrefix: `xgrowth:${runId}:`,
  }
}

function load(port, path, cookies, connections, length) {
  let next = 0
  return autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    pipelining: 1,
    ...length,
    setupClient: (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] }),
  })
}

/** One server: CPU µs per request and latency of each kind of request, or why it cannot run. */
async function measure(library, store, sessionBytes, kinds, connections) {
  const server = await startServer(pinning, spec(library, store, sessionBytes))
  const out = {}
  try {
    const base = `http://127.0.0.1:${server.port}`
    let cookies
    try {
      cookies = await seed(base, Math.min(connections, 10))
      for (const kind of kinds) await verify(kind, base, cookies)
    } catch (error) {
      const skipped = String(error.message).split('\n')[0].slice(0, 120)
      for (const kind of kinds) out[kind] = { skipped }
      return out
    }
    const cookieBytes = Math.max(...cookies.map((c) => c.length))
    // A peer that does not split sends one cookie over 4096 bytes, which browsers drop.
    const cookieCount = Math.max(...cookies.map((c) => c.split('; ').length))
    for (const kind of kinds) {
      await load(server.port, `/${kind}`, cookies, connections, { amount: WARMUP })
      const cpu0 = processCpuSeconds(server.pid)
      const res = await load(server.port, `/${kind}`, cookies, connections, { duration: DURATION })
      const cpu1 = processCpuSeconds(server.pid)
      out[kind] =
        res.errors || res.timeouts || res.non2xx
          ? { skipped: `under load: ${res.errors} errors, ${res.timeouts} timeouts, ${res.non2xx} non-2xx` }
          : {
              cookieBytes,
              cookieCount,
              rps: res.requests.total / ((res.finish - res.start) / 1000),
              cpuUs:
                cpu0 === undefined || cpu1 === undefined
                  ? undefined
                  : ((cpu1 - cpu0) * 1e6) / res.requests.total,
              p50: res.latency.p50,
              p99: res.latency.p99,
            }
    }
    return out
  } finally {
    await server.stop()
  }
}

async function bySize() {
  const rows = []
  for (const [library, store, label] of LIBRARIES) {
    for (const [sizeLabel, bytes] of SIZES) {
      const measured = await measure(library, store, bytes, ['read', 'write'], 10)
      for (const [kind, r] of Object.entries(measured)) {
        progress(
          `size  ${label.padEnd(28)} ${sizeLabel.padEnd(17)} ${kind.padEnd(5)} ${r.skipped ? `n/a: ${r.skipped}` : `${r.cpuUs?.toFixed(0)} µs CPU/request, cookie ${r.cookieBytes} B`}`,
        )
        rows.push({ library: label, size: sizeLabel, bytes, kind, ...r })
      }
    }
  }
  return rows
}

async function byConnections() {
  const rows = []
  for (const [library, store, label] of LATENCY_LIBRARIES) {
    for (const connections of CONNECTION_COUNTS) {
      const measured = await measure(library, store, 1024, ['read', 'write'], connections)
      for (const [kind, r] of Object.entries(measured)) {
        progress(
          `conns ${label.padEnd(28)} ${String(connections).padEnd(4)} ${kind.padEnd(5)} ${r.skipped ? `n/a: ${r.skipped}` : `p50 ${r.p50} ms, p99 ${r.p99} ms`}`,
        )
        rows.push({ library: label, connections, kind, ...r })
      }
    }
  }
  return rows
}

/** `used_memory` of the Redis server, in bytes. */
async function usedMemory(client) {
  const info = await client.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1])
}

/** Writes `count` sessions through `write(i)`, 500 at a time (node-redis pipelines them). */
async function writeMany(count, write) {
  for (let start = 0; start < count; start += 500) {
    const batch = []
    for (let i = start; i < Math.min(count, start + 500); i++) batch.push(write(i))
    await Promise.all(batch)
    if (start % 20_000 === 0 && start > 0) progress(`  ${start.toLocaleString('en-US')} written`)
  }
}

async function redisMemory() {
  let createClient
  let redisStore
  let RedisStore
  let seedData
  try {
    ;({ createClient } = await import('redis'))
    ;({ redisStore } = await import('@x/session-redis'))
    ;({ RedisStore } = await import('connect-redis'))
    ;({ seedData } = await import('./lib/common.mjs'))
  } catch (error) {
    return { skipped: `not importable: ${String(error.message).split('\n')[0]}` }
  }
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (error) {
    return { skipped: `Redis does not answer at ${REDIS_URL} (${error.message})` }
  }
  const generateSessionId = () => randomBytes(18).toString('base64url')
  const rows = []
  const now = Date.now()
  const stores = [
    [
      '@x/session (Redis store)',
      (prefix) => {
        const store = redisStore({ client, prefix })
        return (id, data) =>
          store.set(id, { data, createdAt: now, refreshedAt: now, version: 1 }, { ttl: 3600 })
      },
    ],
    [
      'connect-redis (express-session, @fastify/session)',
      (prefix) => {
        const store = new RedisStore({ client, prefix })
        const cookie = {
          originalMaxAge: 3_600_000,
          expires: new Date(now + 3_600_000),
          httpOnly: true,
          path: '/',
        }
        return (id, data) =>
          new Promise((resolve, reject) =>
            store.set(id, { cookie, ...data }, (error) => (error ? reject(error) : resolve())),
          )
      },
    ],
  ]
  try {
    for (const [label, make] of stores) {
      const prefix = `xgrowth:${runId}:${rows.length}:`
      const write = make(prefix)
      const ids = Array.from({ length: REDIS_SESSIONS }, () => generateSessionId())
      progress(`redis ${label}: writing ${REDIS_SESSIONS.toLocaleString('en-US')} sessions of 200 B`)
      const before = await usedMemory(client)
      await writeMany(REDIS_SESSIONS, (i) => write(ids[i], seedData(i)))
      const after = await usedMemory(client)
      let deleted = 0
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        const keys = Array.isArray(batch) ? batch : [batch]
        if (keys.length > 0) deleted += await client.unlink(keys)
      }
      const bytes = (after - before) / REDIS_SESSIONS
      progress(`redis ${label}: ${bytes.toFixed(0)} bytes per session (${deleted} keys deleted)`)
      rows.push({ library: label, sessions: REDIS_SESSIONS, before, after, bytesPerSession: bytes })
    }
  } finally {
    await client.quit().catch(() => {})
  }
  return { rows }
}

function markdown(result) {
  const lines = ['### How cost grows (Fastify)', '']
  lines.push(
    `Server CPU µs per request by session size (10 connections; cookie: bytes of the largest \`Cookie\` header seeded, in how many cookies; one cookie over 4,096 bytes is dropped by browsers):`,
    '',
    '| library | size | read µs | write µs | cookie bytes in cookies |',
    '|---|---|---|---|---|',
  )
  const cell = (r) =>
    r === undefined ? '–' : r.skipped ? 'n/a' : r.cpuUs === undefined ? '?' : r.cpuUs.toFixed(0)
  for (const [, , label] of LIBRARIES) {
    for (const [size] of SIZES) {
      const of = (kind) =>
        result.bySize.find((r) => r.library === label && r.size === size && r.kind === kind)
      const read = of('read')
      const bytes = read?.cookieBytes === undefined ? '–' : `${read.cookieBytes} in ${read.cookieCount}`
      lines.push(`| ${label} | ${size} | ${cell(read)} | ${cell(of('write'))} | ${bytes} |`)
    }
  }
  lines.push('', 'Latency (ms, 1 KB sessions), p50 / p99:', '')
  lines.push(
    `| library | ${CONNECTION_COUNTS.flatMap((c) => [`read, ${c} conn.`, `write, ${c} conn.`]).join(' | ')} |`,
    `|---|${CONNECTION_COUNTS.flatMap(() => ['---', '---']).join('|')}|`,
  )
  for (const [, , label] of LATENCY_LIBRARIES) {
    const cells = CONNECTION_COUNTS.flatMap((connections) =>
      ['read', 'write'].map((kind) => {
        const r = result.byConnections.find(
          (x) => x.library === label && x.connections === connections && x.kind === kind,
        )
        return !r || r.skipped ? 'n/a' : `${r.p50} / ${r.p99}`
      }),
    )
    lines.push(`| ${label} | ${cells.join(' | ')} |`)
  }
  lines.push('')
  if (result.redis.skipped) lines.push(`Redis memory: skipped (${result.redis.skipped}).`)
  else {
    lines.push(
      `Redis memory per session (\`used_memory\` after − before writing ${REDIS_SESSIONS.toLocaleString('en-US')} sessions of 200 B, divided by that count; the keys are then deleted):`,
      '',
      '| store | bytes per session |',
      '|---|---|',
    )
    for (const r of result.redis.rows) lines.push(`| ${r.library} | ${r.bytesPerSession.toFixed(0)} |`)
  }
  return lines.join('\n')
}

const result = { quick, sizes: SIZES, connections: CONNECTION_COUNTS, redisSessions: REDIS_SESSIONS }
result.bySize = await bySize()
result.byConnections = await byConnections()
result.redis = await redisMemory()
result.markdown = markdown(result)
if (args.markdown) progress(`\n${result.markdown}`)
process.stdout.write(`${JSON.stringify(result)}\n`)
