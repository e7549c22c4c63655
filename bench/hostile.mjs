/**
 * What a hostile `Cookie` header costs the engine (CONFORMANCE T12): CPU microseconds per request
 * (user + system, `process.cpuUsage`) of `begin()`, `load()` and `commit()` on the cookie store,
 * for a request without a cookie, a forged session token sent again and again, and a header of
 * 1,800 cookies (one of them a forged session cookie). Median of several batches.
 *
 *   node hostile.mjs [--quick] [--baseline <path to another build's dist/index.js>]
 *
 * With `--baseline`, the same cases run against that build too, in the same process, and the two
 * are printed side by side: build the older commit's core (`pnpm --filter @x/session-core build`
 * in a checkout of it) and point at its `dist/index.js`. Uses the built package (`pnpm build` first).
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import * as current from '@x/session-core'

const quick = process.argv.includes('--quick')
const at = process.argv.indexOf('--baseline')
const baselinePath = at === -1 ? undefined : process.argv[at + 1]
const BATCHES = quick ? 5 : 11
const SECRET = 'hostile-bench-secret-0123456789-abcdefghij'

/** A token of exactly Fe26.2's shape (hex salts, 16-byte IV, 32-byte MAC), sealed by nobody. */
function forgedToken() {
  const hex = (n) => Array.from({ length: n }, (_, i) => ((i * 7 + 3) % 16).toString(16)).join('')
  const b64 = (bytes) => Buffer.alloc(bytes, 0x5a).toString('base64url')
  const expires = Date.now() + 86_400_000
  return `Fe26.2**${hex(64)}*${b64(16)}*${b64(48)}*${expires}*${hex(64).replace(/^a/, 'b')}*${b64(32)}`
}

const forged = forgedToken()
const junk = Array.from({ length: 1799 }, (_, i) => `c${i}=${'v'.repeat(8)}${i}`)
const cases = {
  'no cookie': undefined,
  'forged token, repeated': `session=${forged}`,
  '1,800 cookies': [...junk.slice(0, 900), `session=${forged}`, ...junk.slice(900)].join('; '),
}

/** CPU µs per request of `iterations` requests carrying `header`, on `manager`. */
async function measure(manager, header, iterations) {
  const run = async () => {
    const cycle = manager.begin({ cookieHeader: header })
    const session = cycle.loadSync() ?? (await cycle.load())
    session.get('user')
    cycle.commitSync() ?? (await cycle.commit())
  }
  for (let i = 0; i < Math.min(2000, iterations); i++) await run()
  const samples = []
  for (let b = 0; b < BATCHES; b++) {
    const before = process.cpuUsage()
    for (let i = 0; i < iterations; i++) await run()
    const used = process.cpuUsage(before)
    samples.push((used.user + used.system) / iterations)
  }
  samples.sort((a, b) => a - b)
  return samples[samples.length >> 1]
}

async function suite(core) {
  // The forged token must reach the crypto: no onEvent listener work, defaults otherwise.
  const manager = core.createSessionManager({ secret: SECRET })
  const out = {}
  for (const [name, header] of Object.entries(cases)) {
    const iterations = name.startsWith('1,800') ? (quick ? 1000 : 4000) : quick ? 5000 : 20000
    out[name] = await measure(manager, header, iterations)
  }
  return out
}

const started = performance.now()
const builds = [['this build', current]]
if (baselinePath) builds.unshift(['baseline', await import(pathToFileURL(baselinePath).href)])
const results = []
for (const [label, core] of builds) results.push([label, await suite(core)])

const pad = (s, n) => String(s).padEnd(n)
console.log(pad('CPU µs per request', 26) + results.map(([label]) => pad(label, 14)).join(''))
for (const name of Object.keys(cases)) {
  console.log(pad(name, 26) + results.map(([, r]) => pad(r[name].toFixed(2), 14)).join(''))
}
console.error(`(${((performance.now() - started) / 1000).toFixed(1)} s, node ${process.version})`)
