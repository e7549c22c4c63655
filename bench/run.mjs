/**
 * `pnpm bench`: the crypto micro-benchmark, every HTTP scenario (interleaved rounds, each server its
 * own process), and the memory soak. Writes results/latest.{md,json,svg}.
 *
 *   node run.mjs                  full: 5 rounds of 1 s warm-up + 3 s, every store, 100,000-session soak
 *   node run.mjs --quick          smoke: 1 round of 1 s, cookie store and peers measured, the
 *                                 other stores verified only, small soak (under two minutes)
 *   node run.mjs --only fastify   scenarios whose id contains any of the comma-separated words
 *   node run.mjs --profile "fastify x-session cookie read"
 *                                 CPU-profile the matching server(s) under load and print where the time goes
 *   --rounds N --warmup S --duration S --no-crypto --no-http --no-soak --no-growth
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { seed, verify } from './lib/http.mjs'
import { processCpuSeconds, runNodeScript, setupPinning, startServer } from './lib/procs.mjs'
import { summarizeProfile } from './lib/profile.mjs'
import { fullMarkdown, goals, KIND_LABEL, publishFullRun, summarize, svgChart } from './lib/report.mjs'

const benchDir = fileURLToPath(new URL('.', import.meta.url))
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
    'no-crypto': { type: 'boolean', default: false },
    'no-http': { type: 'boolean', default: false },
    'no-soak': { type: 'boolean', default: false },
    'no-growth': { type: 'boolean', default: false },
  },
})

const quick = args.quick
const mode = args.profile ? 'profile' : quick ? 'quick' : 'full'
const CONNECTIONS = 10
const config = {
  rounds: Number(args.rounds ?? (quick || args.profile ? 1 : 5)),
  // autocannon counts whole seconds: a quick warm-up is a number of requests instead.
  warmup:
    args.warmup !== undefined ? { seconds: Number(args.warmup) } : quick ? { amount: 1000 } : { seconds: 1 },
  duration: Number(args.duration ?? (args.profile ? 5 : quick ? 1 : 3)),
  // Quick: fewer sessions and smaller bounds, still five times past them.
  soak: quick ? { sessions: 5_000, maxEntries: 1_000, cacheSize: 250 } : { sessions: 100_000 },
}
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const POSTGRES_URL = process.env.POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'
const runId = `${Date.now().toString(36)}${process.pid}`
const secret = `bench-secret-${runId}-0123456789abcdefghijklmnop`

const started = performance.now()
const log = (line = '') => process.stdout.write(`${line}\n`)
const fmtTime = (s) =>
  s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`

// --- environment ------------------------------------------------------------------------------

const pinning = setupPinning()
const versions = {}
for (const name of [
  'express',
  'fastify',
  'koa',
  'hono',
  '@hono/node-server',
  'express-session',
  'iron-session',
  '@fastify/secure-session',
  '@fastify/session',
  '@fastify/cookie',
  'koa-session',
  'hono-sessions',
  'iron-webcrypto',
  '@hapi/iron',
  'autocannon',
  'redis',
  'pg',
]) {
  try {
    versions[name] = JSON.parse(
      readFileSync(join(benchDir, 'node_modules', name, 'package.json'), 'utf8'),
    ).version
  } catch {
    versions[name] = 'missing'
  }
}
const meta = {
  date: new Date().toISOString(),
  mode,
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  loadavgAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  pinning: pinning.reason,
  connections: CONNECTIONS,
  rounds: config.rounds,
  warmup: config.warmup,
  durationSeconds: config.duration,
  versions,
}
log(`# @x/session bench (${mode})`)
log(`node ${process.version}, ${meta.cores} × ${meta.cpu}, load average ${meta.loadavgAtStart.join(' ')}`)
log(`pinning: ${pinning.enabled ? pinning.reason : `off (${pinning.reason}): figures are noisier`}`)

// --- scenarios -------------------------------------------------------------------------------

const FRAMEWORKS = {
  express: `express ${versions.express}`,
  fastify: `fastify ${versions.fastify}`,
  koa: `koa ${versions.koa}`,
  hono: `hono ${versions.hono}`,
  web: `fetch (node-server ${versions['@hono/node-server']})`,
}
const PEERS = {
  express: [
    ['express-session', 'memory', 'express-session (memory)'],
    ['iron-session', 'cookie', `iron-session ${versions['iron-session']}`],
  ],
  fastify: [
    ['@fastify/secure-session', 'cookie', '@fastify/secure-session (libsodium)'],
    ['@fastify/session', 'memory', '@fastify/session (memory)'],
  ],
  koa: [['koa-session', 'cookie', 'koa-session (cookie)']],
  hono: [['hono-sessions', 'cookie', 'hono-sessions (iron)']],
  web: [['iron-session', 'cookie', `iron-session ${versions['iron-session']}`]],
}
/**
 * Peers on the contention load (one session, every request a write), on the stores this
 * project's contention scenarios use: [library, store, label].
 */
const CONTENTION_PEERS = {
  express: [['express-session', 'redis', 'express-session + connect-redis']],
  fastify: [
    ['@fastify/session', 'memory', '@fastify/session (memory)'],
    ['@fastify/session', 'redis', '@fastify/session + connect-redis'],
  ],
  koa: [],
  hono: [],
  web: [],
}
const STORE_LABEL = {
  cookie: 'cookie store',
  memory: 'memory store',
  redis: 'Redis store',
  'redis-near': 'Redis store, near cache',
  'redis-near-loose': 'Redis store, near cache, strict: false',
  postgres: 'PostgreSQL store',
}

async function detectRedis() {
  try {
    await import('@x/session-redis')
  } catch (error) {
    return {
      ok: false,
      reason: `@x/session-redis is not importable (${String(error.message).split('\n')[0]})`,
    }
  }
  const { createClient } = await import('redis')
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    const pong = await client.ping()
    await client.quit()
    return pong === 'PONG' ? { ok: true } : { ok: false, reason: `Redis at ${REDIS_URL} answered ${pong}` }
  } catch (error) {
    try {
      await client.disconnect()
    } catch {}
    return { ok: false, reason: `Redis does not answer at ${REDIS_URL} (${error.message})` }
  }
}

/** This run's own schema on the shared database, with the store's tables; dropped at the end. */
const POSTGRES_SCHEMA = `xbench_${runId}`

async function preparePostgres() {
  let createSessionTables
  let pg
  try {
    ;({ createSessionTables } = await import('@x/session-postgres'))
    pg = (await import('pg')).default
  } catch (error) {
    return {
      ok: false,
      reason: `@x/session-postgres is not importable (${String(error.message).split('\n')[0]})`,
    }
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${POSTGRES_SCHEMA}"`)
    await createSessionTables(client, { schema: POSTGRES_SCHEMA })
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: `PostgreSQL does not answer at ${POSTGRES_URL} (${error.message})` }
  } finally {
    await client.end().catch(() => {})
  }
}

async function dropPostgresSchema() {
  const pg = (await import('pg')).default
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${POSTGRES_SCHEMA}" CASCADE`)
  } catch (error) {
    log(`could not drop the bench schema ${POSTGRES_SCHEMA}: ${error.message}`)
  } finally {
    await client.end().catch(() => {})
  }
}

const redis = args['no-http'] ? { ok: false, reason: 'no HTTP scenarios' } : await detectRedis()
const postgres = args['no-http'] ? { ok: false, reason: 'no HTTP scenarios' } : await preparePostgres()
const stores = ['cookie', 'memory', ...(redis.ok ? ['redis'] : []), ...(postgres.ok ? ['postgres'] : [])]
if (!redis.ok) log(`Redis store: skipped: ${redis.reason}`)
else meta.redis = REDIS_URL
if (!postgres.ok) log(`PostgreSQL store: skipped: ${postgres.reason}`)
else meta.postgres = POSTGRES_URL.replace(/\/\/[^@/]*@/, '//')

/**
 * A cookie the size of this project's 200-byte session cookie (about 700 characters): sent to the
 * bare app, it measures what carrying a session costs the framework and Node before any library runs.
 */
const SESSION_SIZED_COOKIE = `session=Fe26.2*1*${'A'.repeat(680)}`

const scenarios = []
const add = (framework, library, libraryLabel, store, kind, peer) => {
  const storeLabel = STORE_LABEL[store] ?? ''
  scenarios.push({
    id: `${framework} ${library} ${store} ${kind}`,
    framework,
    frameworkLabel: FRAMEWORKS[framework],
    library,
    libraryLabel,
    store,
    storeLabel,
    kind,
    peer,
    // Quick mode measures bare, the cookie store and the peers; it still verifies everything else.
    measured: !quick || peer || kind.startsWith('bare') || kind === 'floor' || store === 'cookie',
    runs: [],
    spec: {
      framework,
      library,
      store,
      secret,
      redisUrl: REDIS_URL,
      redisPrefix: `xbench:${runId}:${framework}:`,
      postgresUrl: POSTGRES_URL,
      postgresSchema: POSTGRES_SCHEMA,
    },
  })
}
for (const fw of Object.keys(FRAMEWORKS)) {
  add(fw, 'bare', 'bare', '-', 'bare', false)
  add(fw, 'floor', 'empty middleware', '-', 'floor', false)
  add(fw, 'bare', 'bare', '-', 'bare-cookie', false)
  for (const store of stores) {
    for (const kind of ['untouched', 'read', 'write']) {
      add(fw, 'x-session', `@x/session (${STORE_LABEL[store]})`, store, kind, false)
    }
  }
  // The near cache changes reads only: its writes are the Redis store's, plus dropping a copy.
  for (const store of redis.ok ? ['redis-near', 'redis-near-loose'] : []) {
    add(fw, 'x-session', `@x/session (${STORE_LABEL[store]})`, store, 'read', false)
  }
  for (const [lib, store, label] of PEERS[fw]) {
    for (const kind of ['read', 'write']) add(fw, lib, label, store, kind, true)
  }
  // Parallel writes of one session: server stores only (a cookie store keeps no shared state).
  for (const store of stores.filter((s) => s !== 'cookie')) {
    add(fw, 'x-session', `@x/session (${STORE_LABEL[store]})`, store, 'contention', false)
  }
  for (const [lib, store, label] of CONTENTION_PEERS[fw]) {
    if (stores.includes(store)) add(fw, lib, label, store, 'contention', true)
  }
}
const filter = (args.profile ?? args.only)?.split(',').map((w) => w.trim().toLowerCase())
const selected = filter
  ? scenarios.filter((s) => filter.some((w) => s.id.toLowerCase().includes(w)))
  : scenarios
if (filter && selected.length === 0) {
  log(`no scenario matches "${filter.join(',')}"; ids look like "fastify x-session cookie read"`)
  process.exit(2)
}

// --- load generation ---------------------------------------------------------------------------

/**
 * autocannon, in this process (pinned to the other core): an HDR histogram, exact per-second
 * sampling, keep-alive connections and per-connection headers, none of which a hand-written loop
 * gets right on the first try. Each connection carries its own session's cookie.
 */
function load(port, kind, cookies, length) {
  let next = 0
  const path =
    kind === 'contention' ? '/write' : kind === 'read' || kind === 'write' ? `/${kind}` : '/untouched'
  return autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections: CONNECTIONS,
    pipelining: 1,
    ...(length.amount !== undefined ? { amount: length.amount } : { duration: length.seconds }),
    setupClient: cookies
      ? (client) => client.setHeaders({ cookie: cookies[next++ % cookies.length] })
      : undefined,
  })
}

/** Scenarios that are not measured (quick mode) are still checked: one server per configuration. */
async function verifyGroup(group) {
  const server = await startServer(pinning, group[0].spec)
  try {
    for (const s of group) {
      const base = `http://127.0.0.1:${server.port}`
      const cookies =
        s.kind === 'read' || s.kind === 'write' || s.kind === 'contention' ? await seed(base, 2) : undefined
      await verify(s.kind, base, cookies)
    }
  } catch (error) {
    error.serverStderr = server.stderr()
    throw error
  } finally {
    await server.stop()
  }
}

async function runScenario(s, { round, profileDir }) {
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const server = await startServer(pinning, s.spec, { nodeArgs })
  try {
    const cookies =
      s.kind === 'read' || s.kind === 'write'
        ? await seed(`http://127.0.0.1:${server.port}`, CONNECTIONS)
        : s.kind === 'contention'
          ? // One session, its cookie on every connection: a single-page app firing parallel writes.
            await seed(`http://127.0.0.1:${server.port}`, 1)
          : s.kind === 'bare-cookie'
            ? [SESSION_SIZED_COOKIE]
            : undefined
    await verify(s.kind, `http://127.0.0.1:${server.port}`, cookies)
    if (config.warmup.amount || config.warmup.seconds) await load(server.port, s.kind, cookies, config.warmup)
    const cpu0 = processCpuSeconds(server.pid)
    const lg0 = process.cpuUsage()
    const res = await load(server.port, s.kind, cookies, { seconds: config.duration })
    const lg = process.cpuUsage(lg0)
    const cpu1 = processCpuSeconds(server.pid)
    const seconds = (res.finish - res.start) / 1000
    // Under contention a peer's failed requests are a result to report; this project's fail the run.
    const reportNon2xx = s.kind === 'contention' && s.peer
    const problems = [
      res.errors && `${res.errors} connection errors`,
      res.timeouts && `${res.timeouts} timeouts`,
      !reportNon2xx && res.non2xx && `${res.non2xx} non-2xx responses`,
    ].filter(Boolean)
    if (problems.length) throw new Error(`under load: ${problems.join(', ')}`)
    // Checked again after the load: still the same behaviour (no eviction, no error state).
    // autocannon stops at the deadline without waiting for the requests it has in flight, and the
    // server still commits them: a write of a loaded session may land after the check's own write.
    // So the write-back is checked on a fresh session, and the loaded ones must still load.
    const base = `http://127.0.0.1:${server.port}`
    if (s.kind === 'write' || s.kind === 'contention') {
      await verify('read-any', base, cookies)
      await verify(s.kind, base, await seed(base, 1))
    } else {
      await verify(s.kind, base, cookies)
    }
    return {
      round,
      rps: res.requests.total / seconds,
      requests: res.requests.total,
      seconds,
      p50: res.latency.p50,
      p99: res.latency.p99,
      non2xx: res.non2xx,
      serverCpu: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / seconds,
      loadgenCpu: (lg.user + lg.system) / 1e6 / seconds,
    }
  } catch (error) {
    error.serverStderr = server.stderr()
    throw error
  } finally {
    await server.stop()
  }
}

// --- profile mode --------------------------------------------------------------------------------

if (args.profile) {
  const dir = join(benchDir, 'results', 'profiles')
  mkdirSync(dir, { recursive: true })
  for (const s of selected) {
    const before = new Set(readdirNames(dir))
    log(`\nprofiling ${s.id}: ${config.duration} s under load, server under --cpu-prof`)
    const r = await runScenario(s, { round: 0, profileDir: dir })
    log(`${Math.round(r.rps).toLocaleString('en-US')} req/s while profiled (profiling slows it down)`)
    const file = readdirNames(dir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'))
    if (!file) throw new Error('no .cpuprofile was written')
    const renamed = `${s.id.replace(/[^\w]+/g, '-')}.cpuprofile`
    renameSync(join(dir, file), join(dir, renamed))
    log(`profile: results/profiles/${renamed} (open in Chrome DevTools > Performance)`)
    log(summarizeProfile(join(dir, renamed)))
  }
  process.exit(0)
}

function readdirNames(dir) {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

// --- crypto ------------------------------------------------------------------------------------

let failed = false
let crypto
const phase = {}
if (!args['no-crypto']) {
  log('\n## crypto micro-benchmark (seal / unseal, µs per op)')
  const t = performance.now()
  try {
    crypto = JSON.parse(await runNodeScript(pinning, 0, [], 'crypto.mjs', quick ? ['--quick'] : []))
  } catch (error) {
    failed = true
    log(`!!! crypto micro-benchmark FAILED: ${error.message}`)
  }
  phase.crypto = (performance.now() - t) / 1000
}

// --- HTTP ------------------------------------------------------------------------------------------

if (!args['no-http']) {
  const measured = selected.filter((s) => s.measured)
  const verifyOnly = selected.filter((s) => !s.measured)
  log(
    `\n## HTTP: ${measured.length} scenarios × ${config.rounds} round(s) of ${config.warmup.seconds !== undefined ? `${config.warmup.seconds} s` : `${config.warmup.amount} requests`} warm-up + ${config.duration} s, ${CONNECTIONS} connections` +
      (verifyOnly.length ? `; ${verifyOnly.length} more verified only` : ''),
  )
  const groups = new Map()
  for (const s of verifyOnly) {
    const key = `${s.framework} ${s.library} ${s.store}`
    groups.set(key, [...(groups.get(key) ?? []), s])
  }
  const plan = [...groups.values()].map((group) => ({ group, s: group[0], round: 0, verifyOnly: true }))
  const byFramework = new Map()
  for (const s of measured) byFramework.set(s.framework, [...(byFramework.get(s.framework) ?? []), s])
  const rotate = (list, round) => {
    const offset = Math.floor((round * list.length) / config.rounds)
    return list.map((_, i) => list[(i + offset) % list.length])
  }
  for (let round = 0; round < config.rounds; round++) {
    // A framework's scenarios run together, so each ratio to bare compares runs minutes apart at
    // most; the frameworks, and the scenarios within each, start elsewhere every round, so that no
    // scenario always runs first or last.
    for (const group of rotate([...byFramework.values()], round)) {
      for (const s of rotate(group, round)) plan.push({ s, round })
    }
  }
  const t = performance.now()
  let measuredDone = 0
  let measuredTime = 0
  const measuredTotal = plan.filter((p) => !p.verifyOnly).length
  for (let i = 0; i < plan.length; i++) {
    const { s, group, round, verifyOnly: only } = plan[i]
    if (s.failed) continue
    const t0 = performance.now()
    let line
    try {
      if (only) {
        await verifyGroup(group)
        line = `verified ${group.map((g) => g.kind).join(', ')}`
      } else {
        const r = await runScenario(s, { round })
        s.runs.push(r)
        line = `${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  server cpu ${r.serverCpu === undefined ? '–' : `${Math.round(r.serverCpu * 100)}%`}  loadgen cpu ${Math.round(r.loadgenCpu * 100)}%`
      }
    } catch (error) {
      failed = true
      const message = error.message.split('\n')[0]
      for (const g of group ?? [s]) g.failed = message
      line = 'FAILED'
      log(`\n!!! FAILED: ${group ? `${s.framework} ${s.library} ${s.store}` : s.id}\n!!! ${error.message}`)
      if (error.serverStderr) log(`!!! server stderr:\n${error.serverStderr}`)
    }
    const elapsed = (performance.now() - t0) / 1000
    if (!only) {
      measuredDone++
      measuredTime += elapsed
    }
    const perRun = measuredDone ? measuredTime / measuredDone : config.duration + 1.5
    const eta = (measuredTotal - measuredDone) * perRun
    const tag = only ? 'verify' : `r${round + 1}/${config.rounds}`
    const kind = only ? '' : s.kind
    log(
      `[${String(i + 1).padStart(3)}/${plan.length}] ${tag.padEnd(6)} ${s.frameworkLabel.padEnd(14)} ${s.libraryLabel.padEnd(36)} ${kind.padEnd(9)} ${line}  ETA ${fmtTime(eta)}`,
    )
  }
  phase.http = (performance.now() - t) / 1000
}

// --- growth: cost against session size and connections, Redis memory per session (growth.mjs) ---

let growth
if (!args['no-growth'] && !args['no-http'] && !filter) {
  log('\n## how cost grows: session size, connections, Redis memory per session')
  const t = performance.now()
  try {
    growth = JSON.parse(await runNodeScript(pinning, 1, [], 'growth.mjs', quick ? ['--quick'] : []))
  } catch (error) {
    failed = true
    log(`!!! growth FAILED: ${error.message}`)
  }
  phase.growth = (performance.now() - t) / 1000
}

// --- soak --------------------------------------------------------------------------------------------

let soak
if (!args['no-soak']) {
  const { sessions, maxEntries, cacheSize } = config.soak
  log(`\n## memory soak: ${sessions.toLocaleString('en-US')} distinct sessions through core's manager`)
  const t = performance.now()
  try {
    const soakArgs = ['--sessions', String(sessions)]
    if (maxEntries) soakArgs.push('--max-entries', String(maxEntries))
    if (cacheSize) soakArgs.push('--cache-size', String(cacheSize))
    soak = JSON.parse(await runNodeScript(pinning, 0, ['--expose-gc'], 'soak.mjs', soakArgs))
  } catch (error) {
    failed = true
    log(`!!! memory soak FAILED: ${error.message}`)
  }
  phase.soak = (performance.now() - t) / 1000
}

// --- report ----------------------------------------------------------------------------------------

/**
 * The `Set-Cookie` name and value, in bytes, of a cookie-store session holding one number, with
 * the default options: what every request of such a user carries upstream.
 */
async function oneNumberCookie() {
  const { createSessionManager } = await import('@x/session-core')
  const cycle = createSessionManager({ secret }).begin({ cookieHeader: undefined })
  ;(await cycle.load()).set('n', 1)
  const [header] = (await cycle.commit()).setCookie
  return Buffer.byteLength(header.split(';')[0])
}

meta.loadavgAtEnd = loadavg().map((v) => Math.round(v * 100) / 100)
meta.seconds = Math.round((performance.now() - started) / 100) / 10
meta.pinned = pinning.enabled
meta.warmupLabel =
  config.warmup.seconds !== undefined ? `${config.warmup.seconds} s` : `${config.warmup.amount} requests`
meta.phaseSeconds = Object.fromEntries(Object.entries(phase).map(([k, v]) => [k, Math.round(v * 10) / 10]))
const shown = args['no-http'] ? [] : selected
summarize(shown)
const goalList = goals(shown, crypto, await oneNumberCookie())

if (!redis.ok) meta.redisSkipped = redis.reason
if (!postgres.ok) meta.postgresSkipped = postgres.reason
else await dropPostgresSchema()
const report = {
  meta,
  scenarios: shown.map(({ spec: _spec, ...s }) => ({ ...s, kindLabel: KIND_LABEL[s.kind] })),
  goals: goalList,
  crypto,
  soak,
  growth,
}
const markdown = fullMarkdown(report)

log(`\n${markdown}`)
const resultsDir = join(benchDir, 'results')
mkdirSync(resultsDir, { recursive: true })
const partial = filter || args['no-http'] || args['no-crypto'] || args['no-soak'] || args['no-growth']
const base = partial ? 'partial' : quick ? 'quick' : 'latest'
writeFileSync(join(resultsDir, `${base}.md`), `${markdown}\n`)
writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`)
const svg = shown.some((s) => s.ratio !== undefined)
  ? svgChart(shown, `@x/session bench, ${meta.date.slice(0, 10)} (${mode})`)
  : undefined
if (svg !== undefined) writeFileSync(join(resultsDir, `${base}.svg`), svg)
log(`\nwrote results/${base}.md, results/${base}.json${shown.length ? `, results/${base}.svg` : ''}`)
if (mode === 'full' && !partial) {
  for (const file of publishFullRun(benchDir, markdown)) log(`updated the latest full run in ${file}`)
}
log(`total ${fmtTime(meta.seconds)}${failed ? ': SOME SCENARIOS FAILED (see above)' : ''}`)
process.exit(failed ? 1 : 0)
