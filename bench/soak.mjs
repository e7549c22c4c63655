/**
 * Memory soak: N distinct sessions through core's manager, in-process (begin/load/commit), once
 * with the memory store (bounded by maxEntries) and once with the cookie store (each cookie goes
 * through the unseal cache, bounded by unsealCacheSize). Each session is created (write), then read
 * back (load of its cookie, which must give it back and send nothing). Reports peak RSS, heap after
 * GC along the way, the store's size at the end, and whether the oldest sessions were evicted.
 * Progress on stderr, JSON on stdout. Run with --expose-gc.
 *
 *   node --expose-gc soak.mjs [--sessions 100000] [--max-entries 10000] [--cache-size 1000]
 */
import { performance } from 'node:perf_hooks'
import { createSessionManager, memoryStore } from '@x/session-core'

const option = (name, fallback) => {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const N = option('--sessions', 100_000)
// The defaults of memoryStore() and of the manager's unsealCacheSize.
const MAX_ENTRIES = option('--max-entries', 10_000)
const CACHE_SIZE = option('--cache-size', 1_000)
const PROBE = 200
const secret = 'soak-secret-of-at-least-32-characters-long'

const gc = globalThis.gc ?? (() => {})
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10
const cookieOf = (setCookie) => setCookie.map((line) => line.slice(0, line.indexOf(';'))).join('; ')

async function soak(label, makeStore) {
  gc()
  const store = makeStore()
  const events = {}
  const manager = createSessionManager({
    secret,
    store,
    unsealCacheSize: CACHE_SIZE,
    onEvent: (e) => {
      const key = e.reason ? `${e.type}:${e.reason}` : e.type
      events[key] = (events[key] ?? 0) + 1
    },
  })
  const step = Math.max(1, Math.ceil(N / 10))
  const first = []
  const last = []
  const checkpoints = []
  const startRss = process.memoryUsage().rss
  const start = performance.now()
  for (let i = 0; i < N; i++) {
    const write = manager.begin({ cookieHeader: undefined })
    const created = await write.load()
    created.user = `user-${i}`
    created.n = i
    const { setCookie } = await write.commit()
    if (setCookie.length === 0) throw new Error(`${label}: session ${i} sent no cookie`)
    const cookie = cookieOf(setCookie)

    const read = manager.begin({ cookieHeader: cookie })
    const loaded = await read.load()
    if (loaded.user !== `user-${i}` || loaded.isNew)
      throw new Error(`${label}: session ${i} did not read back`)
    if ((await read.commit()).setCookie.length !== 0)
      throw new Error(`${label}: an unchanged read sent a cookie`)

    if (i < PROBE) first.push(cookie)
    else if (i >= N - PROBE) last.push(cookie)
    if ((i + 1) % step === 0 || i + 1 === N) {
      gc()
      const m = process.memoryUsage()
      const point = {
        sessions: i + 1,
        rssMB: mb(m.rss),
        heapUsedMB: mb(m.heapUsed),
        storeSize: store?.size,
      }
      checkpoints.push(point)
      const elapsed = (performance.now() - start) / 1000
      process.stderr.write(
        `  soak ${label.padEnd(13)} ${String(i + 1).padStart(7)}/${N}  rss ${String(point.rssMB).padStart(6)} MB  heap after GC ${String(point.heapUsedMB).padStart(5)} MB${store ? `  store ${store.size}` : ''}  ${elapsed.toFixed(1)} s\n`,
      )
    }
  }
  const seconds = (performance.now() - start) / 1000

  // Eviction probes. Memory store: the oldest sessions must be gone (past maxEntries), the newest
  // there. Cookie store: every cookie stays valid, but only the newest are in the unseal cache,
  // so loading an old one costs a full unseal and a recent one almost nothing.
  const probe = async (cookies) => {
    let found = 0
    const times = []
    for (const cookie of cookies) {
      const t = performance.now()
      const s = await manager.begin({ cookieHeader: cookie }).load()
      times.push((performance.now() - t) * 1000)
      if (!s.isNew) found++
    }
    times.sort((a, b) => a - b)
    return { found, of: cookies.length, medianLoadUs: Math.round(times[times.length >> 1] * 10) / 10 }
  }
  const oldest = await probe(first)
  const newest = await probe(last)
  gc()
  return {
    label,
    sessions: N,
    seconds: Math.round(seconds * 10) / 10,
    bound: store ? { maxEntries: MAX_ENTRIES, unsealCacheSize: CACHE_SIZE } : { unsealCacheSize: CACHE_SIZE },
    storeSizeAtEnd: store?.size,
    startRssMB: mb(startRss),
    endHeapUsedMB: mb(process.memoryUsage().heapUsed),
    checkpoints,
    oldest,
    newest,
    events,
  }
}

const runs = []
runs.push(await soak('memory store', () => memoryStore({ maxEntries: MAX_ENTRIES })))
runs.push(await soak('cookie store', () => undefined))
const peakRssMB = mb(process.resourceUsage().maxRSS * 1024)
process.stderr.write(`  soak peak RSS ${peakRssMB} MB\n`)
process.stdout.write(`${JSON.stringify({ sessions: N, peakRssMB, runs })}\n`)
