import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Jar, send } from '@x/session-conformance-tests'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probe } from '../../packages/redis/test/helpers.js'

/**
 * Two app processes, each with the Redis store's near cache: what one of them changes, the
 * other's next request sees, although that process serves unchanged sessions from its own memory.
 */
const SECRET = 'near-cache-secret-0123456789-abcdefghijkl'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `test:x-session-near-cache:${process.pid}:`
const TRACKER = 'x-session-near-cache'
const server = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url))
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url))

const redis = await probe(REDIS_URL)
if (!redis.ok && process.env.CI === 'true')
  throw new Error(`near-cache two-process test: ${redis.reason} (CI=true, so this fails)`)
if (!redis.ok) console.warn(`skipped: near-cache two-process test: ${redis.reason}`)

interface Child {
  process: ChildProcess
  url: string
}

async function startApp(framework: string): Promise<Child> {
  const child = spawn(tsx, [server, framework], {
    env: {
      ...process.env,
      SESSION_SECRET: SECRET,
      SESSION_PREFIX: PREFIX,
      SESSION_NEAR_CACHE: '1',
      REDIS_URL,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  const first = once(lines, 'line')
  const failed = once(child, 'exit').then(([code]) => {
    throw new Error(`${framework} app exited with ${code} before listening`)
  })
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${framework} app did not start within 20 s`)), 20_000).unref(),
  )
  const [line] = (await Promise.race([first, failed, timeout])) as [string]
  return { process: child, url: JSON.parse(line).url }
}

async function stop(children: Child[]): Promise<void> {
  for (const child of children) {
    if (!child || child.process.exitCode !== null) continue
    child.process.kill('SIGTERM')
    await Promise.race([once(child.process, 'exit'), new Promise((r) => setTimeout(r, 5000))])
    child.process.kill('SIGKILL')
  }
}

describe.skipIf(!redis.ok)('two processes, each with a near cache, one Redis', () => {
  let admin: ReturnType<typeof createClient>
  let a: Child
  let b: Child
  /** The tracking connection of each app: the one that appeared when it started. */
  const trackers = new Map<Child, string>()

  const trackerIds = async () => {
    const list = String(await admin.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']))
    return new Set(
      list
        .split('\n')
        .filter((line) => line.includes(` name=${TRACKER} `))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1] ?? ''),
    )
  }
  const started = async (framework: string) => {
    const before = await trackerIds()
    const child = await startApp(framework)
    const mine = [...(await trackerIds())].filter((id) => !before.has(id))
    expect(mine).toHaveLength(1)
    trackers.set(child, mine[0]!)
    return child
  }

  beforeAll(async () => {
    admin = createClient({ url: REDIS_URL })
    await admin.connect()
    a = await started('express')
    b = await started('fastify')
  }, 60_000)
  afterAll(async () => {
    await stop([a, b])
    for await (const keys of admin.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
      if (keys.length) await admin.unlink(keys)
    }
    await admin.close()
  })

  const read = async (app: Child, jar: Jar) =>
    (await send(`${app.url}/read`, { cookie: jar.header() })).json()

  it("a write through one process is seen by the other's next request, every time", async () => {
    const jar = new Jar()
    jar.apply(await send(`${a.url}/write?user=ada`, { method: 'POST' }))
    for (let i = 0; i < 50; i++) {
      // Twice: the second read is served from b's copy.
      expect((await read(b, jar)).data.n).toBe(i === 0 ? undefined : String(i - 1))
      expect((await read(b, jar)).data.n).toBe(i === 0 ? undefined : String(i - 1))
      const writer = i % 2 === 0 ? a : b
      jar.apply(await send(`${writer.url}/write?n=${i}`, { method: 'POST', cookie: jar.header() }))
      const reader = writer === a ? b : a
      expect((await read(reader, jar)).data).toEqual({ user: 'ada', n: String(i) })
    }
  })

  it("regenerate() and a logout in one process end the old cookie in the other's next request", async () => {
    const jar = new Jar()
    jar.apply(await send(`${a.url}/write?user=ada`, { method: 'POST' }))
    await read(b, jar)
    expect(await read(b, jar)).toMatchObject({ isNew: false, data: { user: 'ada' } })
    const old = jar.clone()
    jar.apply(await send(`${a.url}/regenerate`, { method: 'POST', cookie: jar.header() }))
    expect((await read(b, old)).isNew).toBe(true)
    expect(await read(b, jar)).toMatchObject({ isNew: false, data: { user: 'ada' } })
    expect(await read(b, jar)).toMatchObject({ isNew: false, data: { user: 'ada' } })
    jar.apply(await send(`${a.url}/logout`, { method: 'POST', cookie: jar.header() }))
    expect((await read(b, jar)).isNew).toBe(true)
  })

  it('with its tracking connection killed, a process reads through to Redis, then trusts its cache again', async () => {
    const jar = new Jar()
    jar.apply(await send(`${a.url}/write?user=ada&n=0`, { method: 'POST' }))
    await read(b, jar)
    expect((await read(b, jar)).data.n).toBe('0')
    const before = await trackerIds()
    await admin.sendCommand(['CLIENT', 'KILL', 'ID', trackers.get(b)!])
    // b hears of the loss on its own; no invalidation can reach it until it has reconnected.
    for (let i = 1; i <= 20; i++) {
      jar.apply(await send(`${a.url}/write?n=${i}`, { method: 'POST', cookie: jar.header() }))
      expect((await read(b, jar)).data.n).toBe(String(i))
    }
    // b's new tracking connection.
    let fresh: string | undefined
    for (let i = 0; i < 200 && !fresh; i++) {
      fresh = [...(await trackerIds())].find((id) => !before.has(id))
      if (!fresh) await new Promise((r) => setTimeout(r, 25))
    }
    expect(fresh).toBeDefined()
    trackers.set(b, fresh!)
    await read(b, jar)
    jar.apply(await send(`${a.url}/write?n=done`, { method: 'POST', cookie: jar.header() }))
    expect((await read(b, jar)).data.n).toBe('done')
  })
})
