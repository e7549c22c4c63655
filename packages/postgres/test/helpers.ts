import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { beforeAll, describe } from 'vitest'
import { createSessionTables } from '../src/index.js'

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const isCI = process.env.CI === 'true'

/** Whether something a test file needs is there, and if not, why (one line). */
export interface Requirement {
  ok: boolean
  reason: string
}

/**
 * Runs `fn` when the requirement holds. Otherwise it skips, naming the reason, or, on CI
 * (`CI=true`), fails in `beforeAll`: a CI run without PostgreSQL must not pass by skipping everything.
 */
export function describeWith(name: string, requirement: Requirement, fn: () => void): void {
  if (requirement.ok) {
    describe(name, fn)
  } else if (isCI) {
    describe(name, () => {
      beforeAll(() => {
        throw new Error(`${name}: ${requirement.reason} (CI=true, so this fails instead of skipping)`)
      })
      fn()
    })
  } else {
    console.warn(`skipped: ${name}: ${requirement.reason}`)
    describe.skip(`${name} (skipped: ${requirement.reason})`, fn)
  }
}

/** Connects to the shared PostgreSQL and runs `SELECT 1`, within about a second. */
export async function probe(url = POSTGRES_URL): Promise<Requirement> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000, query_timeout: 1000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return { ok: true, reason: '' }
  } catch (error) {
    return {
      ok: false,
      reason: `PostgreSQL at ${url} is unreachable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); set POSTGRES_URL`,
    }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** A schema name no other run shares, so tests on the shared database never meet each other's rows. */
export function uniqueSchema(tag: string): string {
  return `xs_test_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
}

/** Creates `schema` with the tables in it (on the shared database: our own schema only). */
export async function createSchema(url: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    await createSessionTables(admin, { schema })
  } finally {
    await admin.end()
  }
}

/** Drops a schema this run created (never anything else). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!schema.startsWith('xs_test_')) throw new Error(`refusing to drop ${schema}`)
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  admin.on('error', () => {})
  try {
    await admin.connect()
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await admin.end().catch(() => undefined)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it returns true, for at most `ms`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      if (await check()) return
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}

/** Rejects if `promise` takes longer than `ms`: every wait on a possibly down server is bounded. */
export async function within<T>(ms: number, promise: Promise<T>, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Debian's PostgreSQL binaries (the newest installed version), and how to run them as a non-root user. */
function serverBinaries(): { bin: string; asUser: string[] } | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const [version] = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  if (!version) return undefined
  // initdb and postgres refuse to run as root: run them as the postgres user.
  const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : []
  return { bin: join(root, version, 'bin'), asUser }
}

export function privateServerRequirement(): Requirement {
  const found = serverBinaries()
  if (!found)
    return {
      ok: false,
      reason: 'no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)',
    }
  if (found.asUser.length && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return { ok: false, reason: 'running as root but there is no `postgres` user to run initdb as' }
  return { ok: true, reason: '' }
}

export interface PostgresProcess {
  port: number
  url: string
  dir: string
  child: ChildProcess
  /** Resolves when the postmaster has exited. */
  exited: Promise<void>
  /** What the server wrote to stderr (its log), for tests that read `log_statement` lines. */
  log: string[]
}

/** A fresh cluster in a temp dir owned by the user the server runs as. */
export async function initCluster(): Promise<{ dir: string; port: number }> {
  const found = serverBinaries()
  if (!found) throw new Error('no PostgreSQL binaries')
  const dir = await mkdtemp(join(tmpdir(), 'x-session-pg-'))
  if (found.asUser.length) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    await chown(dir, uid, gid)
  }
  execFileSync(
    found.asUser[0] ?? join(found.bin, 'initdb'),
    [
      ...found.asUser.slice(1),
      ...(found.asUser.length ? [join(found.bin, 'initdb')] : []),
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale',
      'C',
    ],
    { stdio: 'ignore', timeout: 60_000 },
  )
  return { dir, port: await freePort() }
}

/**
 * Starts the postmaster in the foreground on 127.0.0.1:`port` and waits until it answers.
 * `settings` become `-c name=value` flags.
 */
export async function startPostgres(
  cluster: { dir: string; port: number },
  settings: Record<string, string> = {},
): Promise<PostgresProcess> {
  const found = serverBinaries()
  if (!found) throw new Error('no PostgreSQL binaries')
  const { dir, port } = cluster
  const args = [
    join(found.bin, 'postgres'),
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]
  const [command = '', ...rest] = [...found.asUser, ...args]
  const child = spawn(command, rest, { stdio: ['ignore', 'ignore', 'pipe'] })
  const log: string[] = []
  let partial = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    log.push(...lines)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  try {
    await waitFor(`postgres on port ${port}`, async () => (await probe(url)).ok, 30_000)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`postgres on port ${port} did not start: ${log.join('\n')}`, { cause: error })
  }
  return { port, url, dir, child, exited, log }
}

/**
 * Signals the postmaster. Under runuser the child is runuser itself, which forwards SIGTERM and
 * SIGINT but not SIGSTOP, SIGCONT or SIGKILL: those go to the postmaster's pid from its pid file.
 */
export function signal(server: PostgresProcess, name: NodeJS.Signals): void {
  const pidFile = join(server.dir, 'data', 'postmaster.pid')
  const pid = existsSync(pidFile)
    ? Number(execFileSync('head', ['-1', pidFile], { encoding: 'utf8' }).trim())
    : undefined
  if (!pid) return
  if (name === 'SIGSTOP' || name === 'SIGCONT' || name === 'SIGKILL') {
    // The whole server at once, the postmaster and every backend: frozen, thawed, or gone as in a crash.
    const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
    for (const p of [pid, ...children.map(Number)]) {
      try {
        process.kill(p, name)
      } catch {
        // gone already
      }
    }
    // runuser stops itself when its child stops (as su does), and nothing else wakes it.
    if (name === 'SIGCONT') server.child.kill('SIGCONT')
    return
  }
  try {
    process.kill(pid, name)
  } catch {
    // gone already
  }
}

/** Stops a private server for good (thawed first, then SIGKILL) and removes its directory. */
export async function stopPostgres(server: PostgresProcess | undefined, removeDir = true): Promise<void> {
  if (!server) return
  if (server.child.exitCode === null && server.child.signalCode === null) {
    signal(server, 'SIGCONT')
    signal(server, 'SIGKILL')
    server.child.kill('SIGKILL')
    await within(5000, server.exited, `postgres ${server.port} exit`).catch(() => undefined)
  }
  if (removeDir) await rm(server.dir, { recursive: true, force: true })
}
