#!/usr/bin/env node
/**
 * Runtime smoke suite: bundles smoke/app.ts (built from this package's source) for each runtime,
 * serves it on 127.0.0.1 and drives it over real HTTP from Node: the cookie store, a server store
 * and the header transport, and getSession() from @x/session-hono/context inside a request. One
 * line per runtime and case; exits non-zero on any failure. Each runtime is killed after
 * RUN_LIMIT_MS, whatever happens.
 *
 *   node smoke/run.mjs                 # node, bun, deno and workerd
 *   node smoke/run.mjs bun workerd     # some of them
 *   node smoke/run.mjs --package ../web   # another adapter's smoke/entries, served the same way
 *
 * `--package <dir>` runs the same cases against another package: its `smoke/entries/<runtime>.ts`
 * serve an app of the same routes, and its package name (and `/context`) resolve to its `src`.
 *
 * Bun, Deno and workerd are not dependencies of the workspace (together some 350 MB): the first
 * run that needs one installs its pinned npm package with `npm install --prefix` into a cache
 * directory outside the workspace (SMOKE_CACHE_DIR, else $XDG_CACHE_HOME/x-session or
 * ~/.cache/x-session), and later runs reuse it. Their postinstall scripts are not run: the
 * binaries are found in the platform packages. SMOKE_BUN, SMOKE_DENO and SMOKE_WORKERD override
 * a binary's path. Outside CI, a runtime that cannot be installed (no network) is skipped with
 * its reason; under CI=true it fails the run.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'

const RUN_LIMIT_MS = 30_000
const REQUEST_LIMIT_MS = 5_000
const T0 = Date.UTC(2030, 0, 1)
const IDLE_SECONDS = 60 // as in smoke/app.ts

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..')
// The runtimes and esbuild come from this package's devDependencies, whichever package is smoked.
const require = createRequire(join(pkgDir, 'package.json'))
const { values: options, positionals: wanted } = parseArgs({
  options: { package: { type: 'string' } },
  allowPositionals: true,
})
const targetDir = options.package === undefined ? pkgDir : resolve(options.package)
const targetName = require(join(targetDir, 'package.json')).name
const ALL = ['node', 'bun', 'deno', 'workerd']

// --- binaries ------------------------------------------------------------------------------

/** The runtimes' npm packages, pinned: a new version is a deliberate change here. */
const RUNTIME_PACKAGES = { bun: '1.4.5', deno: '2.9.6', workerd: '1.20261117.1' }
const INSTALL_LIMIT_MS = 300_000

const cacheRoot =
  process.env.SMOKE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'x-session')

/** A file big enough to be a runtime rather than the placeholder a package ships before postinstall. */
const isBinary = (file) => file !== undefined && existsSync(file) && statSync(file).size > 1_000_000

/**
 * The directory holding `pkg@version` in node_modules, installed on first use. The install goes to
 * a fresh directory renamed into place once complete, so an interrupted or concurrent run never
 * leaves a half-installed runtime behind for the next one to trip over.
 */
async function installed(pkg, version) {
  const prefix = join(cacheRoot, `${pkg}@${version}`)
  if (existsSync(join(prefix, 'node_modules', pkg, 'package.json'))) return prefix
  await mkdir(cacheRoot, { recursive: true })
  const staging = await mkdtemp(join(cacheRoot, `.${pkg}-`))
  try {
    console.log(`installing ${pkg}@${version} into ${prefix}`)
    await promisify(execFile)(
      process.platform === 'win32' ? 'npm.cmd' : 'npm',
      [
        'install',
        '--prefix',
        staging,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `${pkg}@${version}`,
      ],
      { timeout: INSTALL_LIMIT_MS, shell: process.platform === 'win32' },
    )
    await rename(staging, prefix).catch((error) => {
      // Another run got there first: keep its copy.
      if (!existsSync(join(prefix, 'node_modules', pkg, 'package.json'))) throw error
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  return prefix
}

/** The first of `candidates` (relative to the package, or modules it resolves) that is a binary. */
function fromPackage(prefix, pkg, candidates) {
  const local = createRequire(join(prefix, 'node_modules', pkg, 'package.json'))
  for (const candidate of candidates) {
    let file
    try {
      // Platform packages are optional dependencies of the main one: resolve them from there.
      file = candidate.startsWith('.')
        ? join(prefix, 'node_modules', pkg, candidate)
        : local.resolve(candidate)
    } catch {
      continue
    }
    if (isBinary(file)) return file
  }
  return undefined
}

const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch]

const candidates = {
  bun: () => ['./bin/bun.exe', `@oven/bun-${process.platform}-${arch}/bin/bun`],
  deno: () => [
    './deno',
    process.platform === 'linux'
      ? `@deno/linux-${process.arch}-glibc/deno`
      : `@deno/${process.platform}-${process.arch}/deno`,
  ],
  // The package's main export is the path of the platform binary, postinstall or not.
  workerd: (prefix) => {
    const local = createRequire(join(prefix, 'index.js'))
    return [local('workerd').default ?? local('workerd')]
  },
}

/** The runtime's binary: an override, the cached install, or a fresh install into the cache. */
async function binaryFor(runtime) {
  if (runtime === 'node') return process.execPath
  const override = process.env[`SMOKE_${runtime.toUpperCase()}`]
  if (override) return override
  const prefix = await installed(runtime, RUNTIME_PACKAGES[runtime])
  const file = fromPackage(prefix, runtime, candidates[runtime](prefix))
  if (!file) throw new Error(`no ${runtime} binary for ${process.platform}-${process.arch} in ${prefix}`)
  return file
}

// --- bundling and serving ------------------------------------------------------------------

async function loadEsbuild() {
  try {
    return await import('esbuild')
  } catch {
    // Not a devDependency of its own yet: use the copy that tsup depends on.
    return createRequire(require.resolve('tsup'))('esbuild')
  }
}

async function bundle(esbuild, runtime, dir) {
  const outfile = join(dir, 'worker.mjs')
  await esbuild.build({
    entryPoints: [join(targetDir, 'smoke', 'entries', `${runtime}.ts`)],
    outfile,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: runtime === 'node' ? 'node' : 'neutral',
    mainFields: ['module', 'main'],
    conditions: runtime === 'workerd' ? ['workerd', 'worker', 'browser'] : [runtime],
    // The adapter and core under test: their source, not a build that may be stale.
    alias: {
      [`${targetName}/context`]: join(targetDir, 'src', 'context.ts'),
      [targetName]: join(targetDir, 'src', 'index.ts'),
      '@x/session-core/context': join(pkgDir, '..', 'core', 'src', 'context.ts'),
      '@x/session-core': join(pkgDir, '..', 'core', 'src', 'index.ts'),
    },
    // Every runtime brings its own AsyncLocalStorage (workerd under the nodejs_compat flag).
    external: ['node:async_hooks'],
    logLevel: 'error',
  })
  return outfile
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function command(runtime, binary, file, dir, port) {
  switch (runtime) {
    case 'node':
    case 'bun':
      return [binary, [file, String(port)]]
    case 'deno':
      return [binary, ['run', '--no-prompt', '--allow-net=127.0.0.1', file, String(port)]]
    case 'workerd': {
      // nodejs_compat: workerd has node:async_hooks (AsyncLocalStorage, for getSession()) only under it.
      const config = join(dir, 'config.capnp')
      await writeFile(
        config,
        `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .smoke)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const smoke :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["nodejs_compat"],
);
`,
      )
      return [binary, ['serve', config]]
    }
  }
}

// --- HTTP ----------------------------------------------------------------------------------

/** A raw request; `cookie` may be several header lines. */
function send(base, path, { method = 'GET', cookie, now = T0, headers = {} } = {}) {
  const all = { 'x-test-now': String(now), ...headers }
  if (cookie !== undefined) all.cookie = cookie
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: all, agent: false }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body,
          setCookie: res.headers['set-cookie'] ?? [],
          json: () => JSON.parse(body),
        })
      })
    })
    req.setTimeout(REQUEST_LIMIT_MS, () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

async function waitUntilUp(base, deadline, exited) {
  for (;;) {
    if (exited()) throw new Error('the runtime exited before it served')
    try {
      if ((await send(base, '/health')).status === 200) return
    } catch {}
    if (Date.now() > deadline) throw new Error('not serving before the time limit')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// --- cases ---------------------------------------------------------------------------------

function check(condition, message) {
  if (!condition) throw new Error(message)
}

/** The `name=value` pair a response sets for `name`, or undefined. */
function pair(reply, name) {
  const header = reply.setCookie.find((h) => h.startsWith(`${name}=`))
  return header?.split(';', 1)[0]
}

const TOKEN_HEADER = 'x-session-token' // as in smoke/app.ts

/** Each session of smoke/app.ts, and how its client carries the session: a cookie or the header. */
const modes = [
  { label: 'cookie store', query: '', name: 'session' },
  { label: 'server store', query: '?store=server', name: 'sid' },
  { label: 'header transport', query: '?store=token', header: TOKEN_HEADER },
]

/** What a reply hands the client to send back: the cookie's `name=value`, or the header's token. */
function credential(reply, mode) {
  if (!mode.header) return pair(reply, mode.name)
  const value = reply.headers[mode.header]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Request options carrying `value` the mode's way; the header goes out empty on a first request. */
function carry(mode, value) {
  if (mode.header) return { headers: { [mode.header]: value ?? '' } }
  return value === undefined ? {} : { cookie: value }
}

/** What a reply sent of the session: its Set-Cookie lines, or the token header. */
function emitted(reply, mode) {
  if (!mode.header) return reply.setCookie
  return reply.headers[mode.header] === undefined ? [] : [reply.headers[mode.header]]
}

async function login(base, mode, now = T0) {
  const reply = await send(base, `/write${mode.query}`, { method: 'POST', now, ...carry(mode) })
  check(reply.status === 200, `login answered ${reply.status}`)
  const value = credential(reply, mode)
  check(value, `login sent no ${mode.header ?? `${mode.name} cookie`}`)
  if (mode.header)
    check(reply.setCookie.length === 0, `the header transport set a cookie: ${reply.setCookie}`)
  return value
}

const cases = []
for (const mode of modes) {
  const read = (base, value, now) => send(base, `/read${mode.query}`, { now, ...carry(mode, value) })
  const post = (base, path, value, extra = '') => {
    const query = [mode.query.slice(1), extra].filter(Boolean).join('&')
    return send(base, query ? `${path}?${query}` : path, { method: 'POST', ...carry(mode, value) })
  }
  cases.push(
    [
      `round trip (${mode.label})`,
      async (base) => {
        const cookie = await login(base, mode)
        const reply = await read(base, cookie)
        check(reply.json().n === 1 && reply.json().isNew === false, `read back ${reply.body}`)
        check(emitted(reply, mode).length === 0, 'an unchanged session was sent again')
      },
    ],
    [
      `regenerate (${mode.label})`,
      async (base) => {
        const cookie = await login(base, mode)
        const before = (await read(base, cookie)).json()
        const reply = await post(base, '/regenerate', cookie)
        const fresh = credential(reply, mode)
        check(fresh && fresh !== cookie, 'regenerate sent no new token')
        const after = (await read(base, fresh)).json()
        check(after.id !== before.id && after.n === 1, `after regenerate: ${JSON.stringify(after)}`)
        if (mode.query)
          check((await read(base, cookie)).json().isNew, 'the old cookie still opens the session')
      },
    ],
    [
      `destroy (${mode.label})`,
      async (base) => {
        const cookie = await login(base, mode)
        const reply = await post(base, '/destroy', cookie)
        if (mode.header) {
          // An empty header value tells the client to drop its token.
          check(reply.headers[mode.header] === '', `no empty ${mode.header}: ${reply.headers[mode.header]}`)
        } else {
          const header = reply.setCookie.find((h) => h.startsWith(`${mode.name}=`)) ?? ''
          check(
            header.startsWith(`${mode.name}=;`) && /Max-Age=0/i.test(header),
            `no clearing cookie: ${header}`,
          )
        }
        if (mode.query) check((await read(base, cookie)).json().isNew, 'the destroyed session still opens')
      },
    ],
    [
      `tamper (${mode.label})`,
      async (base) => {
        const cookie = await login(base, mode)
        const at = Math.floor(cookie.length * 0.6)
        const tampered = cookie.slice(0, at) + (cookie[at] === 'A' ? 'B' : 'A') + cookie.slice(at + 1)
        const reply = await read(base, tampered)
        check(
          reply.status === 200 && reply.json().isNew === true,
          `tampered cookie: ${reply.status} ${reply.body}`,
        )
        check((await read(base, cookie)).json().isNew === false, 'the genuine cookie stopped working')
      },
    ],
    [
      `expiry (${mode.label})`,
      async (base) => {
        const cookie = await login(base, mode)
        const late = T0 + (IDLE_SECONDS - 1) * 1000
        check((await read(base, cookie, late)).json().isNew === false, 'ended before its idle timeout')
        const expired = T0 + (IDLE_SECONDS + 1) * 1000
        check((await read(base, cookie, expired)).json().isNew === true, 'still open after its idle timeout')
      },
    ],
    [
      `getSession() (${mode.label})`,
      async (base) => {
        const value = await login(base, mode)
        // The route's service finds the session through the async context, after awaits and a timer.
        const reply = await post(base, '/context', value, 'set=1')
        check(reply.status === 200, `answered ${reply.status}: ${reply.body}`)
        check(reply.json().same === true && reply.json().n === 2, `getSession() found ${reply.body}`)
        const next = credential(reply, mode)
        check(next, 'a write through getSession() was not sent')
        check((await read(base, next)).json().n === 2, 'a write through getSession() was lost')
      },
    ],
  )
}
cases.push(
  [
    'getSession() outside a request',
    async (base) => {
      const reply = await send(base, '/context-outside')
      check(reply.body === 'ERR_SESSION_NO_CONTEXT', `at module scope getSession() gave ${reply.body}`)
    },
  ],
  [
    'split Cookie header lines',
    async (base) => {
      const cookie = await login(base, modes[0])
      const joined = (await send(base, '/cookie-header', { cookie: ['a=1', 'b=2'] })).body
      const reply = await send(base, '/read', { cookie: ['theme=dark', cookie, 'late=1'] })
      check(
        reply.json().isNew === false,
        `session in a second Cookie line not read (runtime joins as ${JSON.stringify(joined)})`,
      )
    },
  ],
  [
    'streamed body',
    async (base) => {
      const reply = await send(base, '/stream', { method: 'POST' })
      check(reply.body === 'first;second', `body ${JSON.stringify(reply.body)}`)
      const cookie = pair(reply, 'session')
      check(cookie, 'no cookie with the streamed response')
      check((await send(base, '/read', { cookie })).json().n === 42, 'streamed change lost')
    },
  ],
  [
    'Response.redirect() (immutable headers) carries the cookie',
    async (base) => {
      const reply = await send(base, '/redirect', { method: 'POST' })
      check(reply.status === 302 && /\/read$/.test(reply.headers.location ?? ''), `answered ${reply.status}`)
      const cookie = pair(reply, 'session')
      check(cookie, 'no cookie with the redirect')
      check((await send(base, '/read', { cookie })).json().n === 7, 'the change before the redirect was lost')
    },
  ],
  [
    'store down fails closed (503)',
    async (base) => {
      const cookie = await login(base, modes[1])
      const down = { cookie, headers: { 'x-test-store-down': '1' } }
      const reply = await send(base, '/read?store=server', down)
      check(reply.status === 503, `store down answered ${reply.status}`)
      check(
        (await send(base, '/read', down)).status === 200,
        'the cookie-store session failed with the store',
      )
    },
  ],
)

// --- main ----------------------------------------------------------------------------------

async function runRuntime(runtime, esbuild) {
  const results = []
  const fail = (name, error) => results.push({ name, ok: false, error: error?.message ?? String(error) })
  let binary
  try {
    binary = await binaryFor(runtime)
  } catch (error) {
    const reason = `${runtime} unavailable: ${error.message.split('\n')[0]}`
    if (process.env.CI) fail('start', new Error(reason))
    else results.push({ name: 'start', ok: true, skipped: reason })
    return results
  }
  const dir = await mkdtemp(join(tmpdir(), `${targetName.replace(/\W+/g, '-')}-smoke-${runtime}-`))
  let child
  let exited = false
  let stderr = ''
  const deadline = Date.now() + RUN_LIMIT_MS
  let timedOut = false
  const killer = setTimeout(() => {
    timedOut = true
    child?.kill('SIGKILL')
  }, RUN_LIMIT_MS)
  const why = (error) => {
    if (timedOut) return new Error(`${error.message}; killed at the ${RUN_LIMIT_MS / 1000} s limit`)
    return exited && stderr ? new Error(`${error.message}: ${stderr.trim()}`) : error
  }
  try {
    const file = await bundle(esbuild, runtime, dir)
    const port = await freePort()
    const [cmd, args] = await command(runtime, binary, file, dir, port)
    child = spawn(cmd, args, {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(dir, '.deno') },
    })
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-2000)
    })
    child.on('exit', () => {
      exited = true
    })
    child.on('error', () => {
      exited = true
    })
    const base = `http://127.0.0.1:${port}`
    await waitUntilUp(base, deadline, () => exited)
    for (const [name, run] of cases) {
      if (Date.now() > deadline) {
        fail(name, new Error(`not run: the ${RUN_LIMIT_MS / 1000} s limit was reached`))
        continue
      }
      try {
        await run(base)
        results.push({ name, ok: true })
      } catch (error) {
        fail(name, why(error))
      }
    }
  } catch (error) {
    fail('start', why(error))
  } finally {
    clearTimeout(killer)
    if (child && !exited) {
      child.kill('SIGTERM')
      const gone = new Promise((resolve) => child.once('exit', resolve))
      const late = setTimeout(() => child.kill('SIGKILL'), 2000)
      await gone
      clearTimeout(late)
    }
    await rm(dir, { recursive: true, force: true })
  }
  return results
}

const unknown = wanted.filter((r) => !ALL.includes(r))
if (unknown.length) {
  console.error(`unknown runtime(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}`)
  process.exit(2)
}
const esbuild = await loadEsbuild()
let passed = 0
let failed = 0
for (const runtime of wanted.length ? wanted : ALL) {
  for (const result of await runRuntime(runtime, esbuild)) {
    if (result.skipped) {
      console.log(`skip ${runtime.padEnd(7)} ${result.skipped} (under CI=true this fails)`)
      continue
    }
    if (result.ok) passed++
    else failed++
    console.log(
      `${result.ok ? 'ok  ' : 'FAIL'} ${targetName} ${runtime.padEnd(7)} ${result.name}${result.ok ? '' : `: ${result.error}`}`,
    )
  }
}
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
