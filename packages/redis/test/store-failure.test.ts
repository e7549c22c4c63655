import {
  createSessionManager,
  type SessionError,
  type SessionEvent,
  type StoredSession,
} from '@x/session-core'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisSessionStore, redisStore } from '../src/index.js'
import {
  describeWith,
  freePort,
  makeTempDir,
  type RedisProcess,
  redisServerBinary,
  removeDir,
  startRedis,
  stopRedis,
  waitFor,
  within,
} from './helpers.js'

const SECRET = 'redis-failure-test-secret-0123456789-abcdef'
/** Every wait on the down Redis must settle within this (the clients below give up after about 1-2 s). */
const FAIL_FAST_MS = 4000

type Data = { n: number; name: string }

interface Kind {
  name: 'node-redis' | 'ioredis'
  store: RedisSessionStore
  close(): Promise<void>
  /** Sessions made while Redis was up: cookie, id, and the record as stored then. */
  sessions: { cookie: string; id: string; stored: StoredSession | undefined }[]
  events: SessionEvent[]
}

/** The options the README recommends, so that a down or hung Redis fails requests instead of queueing them. */
async function nodeRedisKind(url: string): Promise<Kind> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    pingInterval: 500,
    socket: {
      connectTimeout: 1000,
      socketTimeout: 1500,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500),
    },
    commandOptions: { timeout: 1000 },
  })
  client.on('error', () => {})
  await client.connect()
  return {
    name: 'node-redis',
    store: redisStore({ client, prefix: 'fail:node:' }),
    close: () => client.close().catch(() => undefined),
    sessions: [],
    events: [],
  }
}

async function ioredisKind(url: string): Promise<Kind> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 500),
  })
  client.on('error', () => {})
  await client.connect()
  return {
    name: 'ioredis',
    store: redisStore({ client, prefix: 'fail:io:' }),
    close: async () => client.disconnect(),
    sessions: [],
    events: [],
  }
}

function cookieOf(setCookie: string[]): string {
  return (setCookie[0] ?? '').split(';')[0] ?? ''
}

describeWith('S7: a Redis that goes down and comes back (private redis-server)', redisServerBinary(), () => {
  let dir: string
  let port: number
  let server: RedisProcess | undefined
  const kinds: Kind[] = []

  const managers = (kind: Kind) => ({
    fail: createSessionManager<Data>({
      secret: SECRET,
      store: kind.store,
      onEvent: (e) => kind.events.push(e),
    }),
    anonymous: createSessionManager<Data>({ secret: SECRET, store: kind.store, onStoreError: 'anonymous' }),
  })

  /** Loads a session with a cookie while Redis is unusable; the session must fail with 503, quickly. */
  async function expectUnavailable(kind: Kind, cookie: string) {
    const started = Date.now()
    const session = await within(
      FAIL_FAST_MS,
      managers(kind).fail.begin({ cookieHeader: cookie }).load(),
      `${kind.name} load`,
    )
    let error: SessionError | undefined
    try {
      session.get('n')
    } catch (e) {
      error = e as SessionError
    }
    expect(error).toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE', status: 503 })
    return Date.now() - started
  }

  beforeAll(async () => {
    dir = await makeTempDir('failure')
    port = await freePort()
    server = await startRedis({ port, dir })
    kinds.push(await nodeRedisKind(server.url), await ioredisKind(server.url))
  })
  afterAll(async () => {
    for (const kind of kinds) await kind.close()
    await stopRedis(server)
    await removeDir(dir)
  })

  it('sessions are created while Redis is up', async () => {
    for (const kind of kinds) {
      const { fail } = managers(kind)
      for (const [i, user] of ['ada', undefined, 'bob'].entries()) {
        const cycle = fail.begin({ cookieHeader: undefined })
        const session = await cycle.load()
        session.set('n', i)
        session.set('name', `${kind.name}-${i}`)
        if (user) session.bindUser(user)
        const cookie = cookieOf((await cycle.commit()).setCookie)
        expect(cookie).toMatch(/^session=Fe26\.2\*/)
        kind.sessions.push({ cookie, id: session.id, stored: await kind.store.get(session.id) })
      }
      expect(kind.sessions.every((s) => s.stored !== undefined)).toBe(true)
    }
  })

  it('S7: a hung Redis (SIGSTOP) fails loads with 503 within the client timeouts, then recovers (SIGCONT)', async () => {
    server?.kill('SIGSTOP')
    try {
      const took = await Promise.all(
        kinds.map((kind) => expectUnavailable(kind, kind.sessions[0]?.cookie ?? '')),
      )
      for (const ms of took) expect(ms).toBeLessThan(FAIL_FAST_MS)
    } finally {
      server?.kill('SIGCONT')
    }
    for (const kind of kinds) {
      await waitFor(
        `${kind.name} to recover`,
        async () => (await kind.store.get(kind.sessions[0]?.id ?? '')) !== undefined,
      )
    }
  })

  it('S7: a stopped Redis (SHUTDOWN SAVE): 503 on loads, untouched requests unaffected, nothing written', async () => {
    const admin = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    await admin.connect()
    await admin.shutdown('SAVE').catch(() => undefined)
    admin.disconnect()
    await within(5000, server?.exited ?? Promise.resolve(), 'redis-server to exit')

    for (const kind of kinds) {
      const [first] = kind.sessions
      const cookie = first?.cookie ?? ''
      const { fail, anonymous } = managers(kind)

      expect(await expectUnavailable(kind, cookie)).toBeLessThan(FAIL_FAST_MS)
      expect(kind.events).toContainEqual(expect.objectContaining({ type: 'store-error', operation: 'get' }))

      // A request that never loads its session does no I/O, so it cannot notice Redis is down.
      expect(await within(1000, fail.begin({ cookieHeader: cookie }).commit())).toEqual({
        setCookie: [],
        headers: [],
      })

      // Writing to a session that failed to load is refused too; a new session cannot be saved.
      const failed = fail.begin({ cookieHeader: cookie })
      const session = await within(FAIL_FAST_MS, failed.load())
      expect(() => session.set('n', 666)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_STORE_UNAVAILABLE' }),
      )
      expect(await within(1000, failed.commit())).toEqual({ setCookie: [], headers: [] })
      const fresh = fail.begin({ cookieHeader: undefined })
      ;(await within(FAIL_FAST_MS, fresh.load())).set('n', 1)
      await expect(within(FAIL_FAST_MS, fresh.commit())).rejects.toMatchObject({
        code: 'ERR_SESSION_STORE_UNAVAILABLE',
        status: 503,
      })

      // onStoreError 'anonymous': an empty session that is never saved and sends no cookie.
      const anon = anonymous.begin({ cookieHeader: cookie })
      const empty = await within(FAIL_FAST_MS, anon.load())
      expect(empty.isNew).toBe(true)
      expect(empty.toJSON()).toEqual({})
      empty.set('n', 999)
      empty.set('name', 'mallory')
      expect(await within(FAIL_FAST_MS, anon.commit())).toEqual({ setCookie: [], headers: [] })
    }
  })

  it('S7: restarted on the same port with its data, every session is there and unchanged', async () => {
    server = await startRedis({ port, dir })
    for (const kind of kinds) {
      await waitFor(
        `${kind.name} to reconnect`,
        async () => (await kind.store.get(kind.sessions[0]?.id ?? '')) !== undefined,
      )
      const { fail } = managers(kind)
      for (const [i, { cookie, id, stored }] of kind.sessions.entries()) {
        expect(await kind.store.get(id)).toEqual(stored)
        const session = await fail.begin({ cookieHeader: cookie }).load()
        expect(session.isNew).toBe(false)
        expect(session.toJSON()).toEqual({ n: i, name: `${kind.name}-${i}` })
      }
      expect(await kind.store.listByUser('ada')).toEqual([kind.sessions[0]?.id])
    }
  })
})

describe('S7 helpers', () => {
  it('within() bounds a wait that never ends', async () => {
    await expect(within(10, new Promise(() => {}))).rejects.toThrow(/did not settle/)
  })
})
