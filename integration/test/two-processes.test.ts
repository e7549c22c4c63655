import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Jar, send } from '@x/session-conformance-tests'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createSchema,
  dropSchema,
  POSTGRES_URL,
  probe as probePostgres,
  uniqueSchema,
} from '../../packages/postgres/test/helpers.js'
import { probe } from '../../packages/redis/test/helpers.js'

const SECRET = 'two-process-secret-0123456789-abcdefghij'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `test:x-session-two-process:${process.pid}:`
const server = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url))
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url))

const redis = await probe(REDIS_URL)
if (!redis.ok && process.env.CI === 'true')
  throw new Error(`two-process test: ${redis.reason} (CI=true, so this fails)`)
if (!redis.ok) console.warn(`skipped: two-process test: ${redis.reason}`)

interface Child {
  process: ChildProcess
  url: string
}

const postgres = await probePostgres()
if (!postgres.ok && process.env.CI === 'true')
  throw new Error(`two-process test: ${postgres.reason} (CI=true, so this fails)`)
if (!postgres.ok) console.warn(`skipped: two-process test over PostgreSQL: ${postgres.reason}`)
const SCHEMA = uniqueSchema('two_process')

async function startApp(framework: string, env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(tsx, [server, framework], {
    env: { ...process.env, SESSION_SECRET: SECRET, SESSION_PREFIX: PREFIX, REDIS_URL, ...env },
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

async function sharedScenario(a: Child, b: Child): Promise<void> {
  expect(a.process.pid).not.toBe(b.process.pid)
  const jar = new Jar()
  jar.apply(await send(`${a.url}/write?user=ada`, { method: 'POST' }))
  const read = await send(`${b.url}/read`, { cookie: jar.header() })
  expect(read.json()).toMatchObject({ isNew: false, data: { user: 'ada' } })
  jar.apply(await send(`${b.url}/write?cart=3`, { method: 'POST', cookie: jar.header() }))
  expect((await send(`${a.url}/read`, { cookie: jar.header() })).json().data).toEqual({
    user: 'ada',
    cart: '3',
  })
  const stale = jar.clone()
  jar.apply(await send(`${b.url}/logout`, { method: 'POST', cookie: jar.header() }))
  // The record is gone from the store: the old cookie is no session in either process.
  for (const app of [a, b]) {
    expect((await send(`${app.url}/read`, { cookie: stale.header() })).json().isNew).toBe(true)
  }
}

describe.skipIf(!redis.ok)('two processes, one Redis', () => {
  let a: Child
  let b: Child
  beforeAll(async () => {
    ;[a, b] = await Promise.all([startApp('express'), startApp('fastify')])
  }, 30_000)
  afterAll(async () => {
    await stop([a, b])
    const client = createClient({ url: REDIS_URL })
    await client.connect()
    for await (const keys of client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
      if (keys.length) await client.unlink(keys)
    }
    await client.close()
  })

  it('a session created in one process is read, changed and destroyed through the other', () =>
    sharedScenario(a, b))
})

async function stop(children: Child[]): Promise<void> {
  for (const child of children) {
    if (!child || child.process.exitCode !== null) continue
    child.process.kill('SIGTERM')
    await Promise.race([once(child.process, 'exit'), new Promise((r) => setTimeout(r, 5000))])
    child.process.kill('SIGKILL')
  }
}

describe.skipIf(!postgres.ok)('two processes, one PostgreSQL database', () => {
  let a: Child
  let b: Child
  beforeAll(async () => {
    await createSchema(POSTGRES_URL, SCHEMA)
    const env = { SESSION_STORE: 'postgres', POSTGRES_URL, SESSION_SCHEMA: SCHEMA }
    ;[a, b] = await Promise.all([startApp('koa', env), startApp('hono', env)])
  }, 30_000)
  afterAll(async () => {
    await stop([a, b])
    await dropSchema(POSTGRES_URL, SCHEMA)
  })

  it('a session created in one process is read, changed and destroyed through the other', () =>
    sharedScenario(a, b))
})
