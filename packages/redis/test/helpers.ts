import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe } from 'vitest'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const isCI = process.env.CI === 'true'

/** Whether something a test file needs is there, and if not, why (one line). */
export interface Requirement {
  ok: boolean
  reason: string
}

/**
 * Runs `fn` when the requirement holds. Otherwise it skips, naming the reason, or, on CI
 * (`CI=true`), fails in `beforeAll`: a CI run without Redis must not pass by skipping everything.
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

/** PINGs the shared Redis at `url` with a raw socket, so probing needs no client library and logs nothing. */
export async function probe(url = REDIS_URL): Promise<Requirement> {
  const { hostname, port, username, password } = new URL(url)
  const host = hostname.replace(/^\[|\]$/g, '') || '127.0.0.1'
  const auth = password
    ? resp(
        username
          ? ['AUTH', decodeURIComponent(username), decodeURIComponent(password)]
          : ['AUTH', decodeURIComponent(password)],
      )
    : ''
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(port || 6379) })
    let received = ''
    const done = (ok: boolean, reason: string) => {
      socket.destroy()
      resolve({ ok, reason })
    }
    socket.setTimeout(1000, () => done(false, `Redis at ${url} did not answer within 1 s`))
    socket.on('error', (error) =>
      done(
        false,
        `Redis at ${url} is unreachable (${(error as NodeJS.ErrnoException).code ?? error.message}); set REDIS_URL`,
      ),
    )
    socket.on('connect', () => socket.write(`${auth}${resp(['PING'])}`))
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
      if (received.includes('+PONG')) done(true, '')
      else if (received.includes('-')) done(false, `Redis at ${url} refused PING: ${received.trim()}`)
    })
  })
}

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`
}

export function redisServerBinary(): Requirement {
  const result = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return result.status === 0
    ? { ok: true, reason: '' }
    : {
        ok: false,
        reason: 'no `redis-server` on PATH to start a private Redis (apt-get install redis-server)',
      }
}

/** A key prefix no other run shares, so tests on the shared Redis never meet each other's keys. */
export function uniquePrefix(tag: string): string {
  return `test:x-session-redis:${tag}:${process.pid}-${Math.random().toString(36).slice(2, 10)}:`
}

/** Deletes this run's keys from a shared Redis (never FLUSHALL: others use it). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await admin.connect()
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await admin.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    admin.disconnect()
  }
}

/** The clients a test file shares, connected before its tests and closed after them. */
export interface SharedClients {
  nodeRedis: ReturnType<typeof createClient>
  ioredis: Redis
  /** For what the store under test must not do itself: writing behind its back, CLIENT KILL. */
  admin: Redis
}

/**
 * Connects a node-redis and an ioredis client and an admin connection to `REDIS_URL` before the
 * enclosing suite's tests, and after them deletes every key under `prefix` and closes all three.
 * The object is filled in by `beforeAll`: read its fields inside tests, not at collection time.
 */
export function sharedClients(prefix: string): SharedClients {
  const clients = {} as SharedClients
  beforeAll(async () => {
    clients.nodeRedis = createClient({ url: REDIS_URL })
    clients.nodeRedis.on('error', () => {})
    await clients.nodeRedis.connect()
    clients.ioredis = new Redis(REDIS_URL, { lazyConnect: true })
    await clients.ioredis.connect()
    clients.admin = new Redis(REDIS_URL, { lazyConnect: true })
    await clients.admin.connect()
  })
  afterAll(async () => {
    if (clients.admin) await deleteKeys(REDIS_URL, prefix)
    await clients.nodeRedis?.close()
    clients.ioredis?.disconnect()
    clients.admin?.disconnect()
  })
  return clients
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it returns true, for at most `ms`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 5000,
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

/** Rejects if `promise` takes longer than `ms`: every wait on a possibly down Redis is bounded. */
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

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free port below 55536 whose +10000 neighbour is free too: a Cluster node also listens on
 * port + 10000 for its bus (Redis < 7 has no option to move it).
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 25000)
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) return port
  }
  throw new Error('no free port pair found')
}

export interface RedisProcess {
  port: number
  url: string
  dir: string
  child: ChildProcess
  /** Resolves when the process has exited (bounded by the caller). */
  exited: Promise<void>
  kill(signal?: NodeJS.Signals): void
}

/** Starts `redis-server` in the foreground on `port`, data in `dir`, and waits until it answers PING. */
export async function startRedis(options: {
  port: number
  dir: string
  cluster?: boolean
}): Promise<RedisProcess> {
  const { port, dir } = options
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ]
  args.push('--dbfilename', `dump-${port}.rdb`, '--daemonize', 'no', '--loglevel', 'warning')
  if (options.cluster)
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`))
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `redis://127.0.0.1:${port}`
  try {
    await waitFor(`redis-server on port ${port}`, async () => (await probe(url)).ok, 5000)
  } catch (error) {
    child.kill('SIGKILL')
    throw new Error(`redis-server on port ${port} did not start: ${stderr.trim()}`, { cause: error })
  }
  return { port, url, dir, child, exited, kill: (signal = 'SIGKILL') => child.kill(signal) }
}

export async function makeTempDir(tag: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `x-session-redis-${tag}-`))
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true })
}

/** Stops a private redis-server: SIGKILL, then waits (at most 2 s) for the exit. */
export async function stopRedis(server: RedisProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return
  server.child.kill('SIGCONT')
  server.kill('SIGKILL')
  await within(2000, server.exited, `redis-server ${server.port} exit`).catch(() => undefined)
}

export interface ClusterProcess {
  nodes: RedisProcess[]
  dir: string
  stop(): Promise<void>
}

const run = promisify(execFile)

/** A real Redis Cluster of `masters` masters and no replicas, on free ports, ready (cluster_state:ok). */
export async function startCluster(masters = 3): Promise<ClusterProcess> {
  const dir = await makeTempDir('cluster')
  const nodes: RedisProcess[] = []
  const stop = async () => {
    await Promise.all(nodes.map((node) => stopRedis(node)))
    await removeDir(dir)
  }
  try {
    const ports = new Set<number>()
    while (ports.size < masters) ports.add(await freePort())
    nodes.push(...(await Promise.all([...ports].map((port) => startRedis({ port, dir, cluster: true })))))
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 15_000 },
    )
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on ${node.port}`, async () => {
        const { stdout } = await run('redis-cli', ['-p', String(node.port), 'cluster', 'info'], {
          timeout: 2000,
        })
        return stdout.includes('cluster_state:ok') && stdout.includes(`cluster_known_nodes:${masters}`)
      })
    }
    return { nodes, dir, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
