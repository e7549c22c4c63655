import { testId } from '@x/session-conformance-tests'
import { createSessionManager, type StoredSession } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
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
} from './helpers.js'

const SECRET = 'redis-round-trip-secret-0123456789-abcdef'

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version, ...(user === undefined ? {} : { user }) }
}

interface Seen {
  args: string[]
  source: string
}

/**
 * Counts what reaches the server with MONITOR on a private redis-server: nobody else talks to it,
 * and MONITOR shows every command a client sent (and, tagged "lua", what scripts ran).
 */
describeWith('round trips (private redis-server, MONITOR)', redisServerBinary(), () => {
  let server: RedisProcess
  let dir: string
  let admin: Redis
  let monitor: Redis
  let nodeRedis: ReturnType<typeof createClient>
  let ioredis: Redis
  const seen: Seen[] = []
  let markers = 0

  beforeAll(async () => {
    dir = await makeTempDir('round-trips')
    server = await startRedis({ port: await freePort(), dir })
    admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true })
    await admin.connect()
    monitor = await admin.monitor()
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ args: [String(args[0]).toUpperCase(), ...args.slice(1)], source })
    })
    nodeRedis = createClient({ url: server.url })
    nodeRedis.on('error', () => {})
    await nodeRedis.connect()
    ioredis = new Redis(server.port, '127.0.0.1', { lazyConnect: true })
    await ioredis.connect()
  })
  afterAll(async () => {
    await nodeRedis?.close().catch(() => undefined)
    ioredis?.disconnect()
    monitor?.disconnect()
    admin?.disconnect()
    await stopRedis(server)
    await removeDir(dir)
  })

  /** Index in `seen` of a fresh marker command, once MONITOR has shown it. */
  async function marker(): Promise<number> {
    const text = `marker-${markers++}`
    await admin.echo(text)
    let at = -1
    await waitFor('the MONITOR marker', () => {
      at = seen.findIndex((s) => s.args[0] === 'ECHO' && s.args[1] === text)
      return at >= 0
    })
    return at
  }

  /** The commands clients sent while `fn` ran, and what the scripts did. */
  async function traffic(fn: () => Promise<unknown>): Promise<{ sent: string[]; lua: string[][] }> {
    const from = await marker()
    await fn()
    const to = await marker()
    const between = seen.slice(from + 1, to)
    return {
      sent: between.filter((s) => s.source !== 'lua').map((s) => s.args[0] ?? ''),
      lua: between.filter((s) => s.source === 'lua').map((s) => s.args),
    }
  }

  for (const kind of ['node-redis', 'ioredis'] as const) {
    describe(`with ${kind}`, () => {
      let store: RedisSessionStore
      beforeAll(() => {
        store = redisStore({ client: kind === 'node-redis' ? nodeRedis : ioredis, prefix: `rt:${kind}:` })
      })

      it('a node that lacks a script gets one EVAL after the NOSCRIPT, then EVALSHA only', async () => {
        await admin.script('FLUSH')
        const id = testId()
        expect((await traffic(() => store.get(id))).sent).toEqual(['EVALSHA', 'EVAL'])
        expect((await traffic(() => store.get(id))).sent).toEqual(['EVALSHA'])
        // Load every other script once, so the counts below are the steady state.
        await store.set(id, record({}, 1, 'warm'), { ttl: 60 })
        await store.touch(id, 60, 1)
        await store.apply(id, { set: {}, remove: [], refreshedAt: 1 }, { ttl: 60 })
        await store.listByUser('warm')
        await store.delete(id)
      })

      it('one command per load, per save, per touch and per delete', async () => {
        const id = testId()
        expect(
          (await traffic(() => store.set(id, record({ a: 1 }), { ttl: 60, expectVersion: 0 }))).sent,
        ).toEqual(['EVALSHA'])
        expect((await traffic(() => store.get(id))).sent).toEqual(['EVALSHA'])
        expect(
          (await traffic(() => store.set(id, record({ a: 2 }, 2), { ttl: 60, expectVersion: 1 }))).sent,
        ).toEqual(['EVALSHA'])
        expect(
          (await traffic(() => store.set(id, record({ a: 3 }, 3), { ttl: 60, expectVersion: 1 }))).sent,
        ).toEqual(['EVALSHA'])
        expect((await traffic(() => store.touch(id, 60, 5))).sent).toEqual(['EVALSHA'])
        expect((await traffic(() => store.delete(id))).sent).toEqual(['EVALSHA'])
      })

      it('S5: touch writes refreshedAt and the expiry, never the data field', async () => {
        const id = testId()
        await store.set(id, record({ a: 1 }), { ttl: 60 })
        const { lua } = await traffic(() => store.touch(id, 90, 7))
        const writes = lua.filter(([command]) => !['TYPE', 'HEXISTS', 'HMGET'].includes(command ?? ''))
        expect(writes).toEqual([
          ['HSET', `rt:${kind}:{${id}}`, 'r', '7', 'e', expect.stringMatching(/^\d+$/)],
          ['PEXPIRE', `rt:${kind}:{${id}}`, '90000'],
        ])
      })

      it('a bound session: its first save also writes the index (3 commands), later saves 1', async () => {
        const id = testId()
        const user = `u-${testId()}`
        const first = await traffic(() => store.set(id, record({}, 1, user), { ttl: 60, expectVersion: 0 }))
        // Refused (index first), the index script, the save.
        expect(first.sent).toEqual(['EVALSHA', 'EVALSHA', 'EVALSHA'])
        expect(
          (await traffic(() => store.set(id, record({ n: 1 }, 2, user), { ttl: 60, expectVersion: 1 }))).sent,
        ).toEqual(['EVALSHA'])
        expect((await traffic(() => store.touch(id, 60, 9))).sent).toEqual(['EVALSHA'])
      })

      it('through the engine: a load is one command, a save one, an untouched or unchanged request none', async () => {
        const clock = createTestClock(Date.now())
        const manager = createSessionManager<{ n: number }>({
          secret: SECRET,
          store,
          clock,
          idleTimeout: 3600,
          rolling: 600,
        })
        let cookie = ''
        const created = await traffic(async () => {
          const cycle = manager.begin({ cookieHeader: undefined })
          ;(await cycle.load()).set('n', 1)
          cookie = ((await cycle.commit()).setCookie[0] ?? '').split(';')[0] ?? ''
        })
        expect(created.sent).toEqual(['EVALSHA'])

        const untouched = await traffic(() => manager.begin({ cookieHeader: cookie }).commit())
        expect(untouched.sent).toEqual([])

        const load = await traffic(async () => {
          const cycle = manager.begin({ cookieHeader: cookie })
          expect((await cycle.load()).get('n')).toBe(1)
          expect((await cycle.commit()).setCookie).toEqual([])
        })
        expect(load.sent).toEqual(['EVALSHA'])

        const save = manager.begin({ cookieHeader: cookie })
        ;(await save.load()).set('n', 2)
        expect((await traffic(() => save.commit())).sent).toEqual(['EVALSHA'])

        clock.advance(700)
        const refresh = manager.begin({ cookieHeader: cookie })
        await refresh.load()
        const touched = await traffic(() => refresh.commit())
        expect(touched.sent).toEqual(['EVALSHA'])
        expect(touched.lua.some(([command, , field]) => command === 'HSET' && field?.startsWith('"'))).toBe(
          false,
        )
      })

      it('S11: an apply is one command, whose script writes only the changed and removed keys', async () => {
        const id = testId()
        await store.set(id, record({ keep: 1, drop: 2, change: 3 }), { ttl: 60 })
        const key = `rt:${kind}:{${id}}`
        const applied = await traffic(() =>
          store.apply(id, { set: { change: 4, add: [5] }, remove: ['drop'], refreshedAt: 6 }, { ttl: 90 }),
        )
        expect(applied.sent).toEqual(['EVALSHA'])
        const writes = applied.lua.filter(([command]) =>
          ['HSET', 'HDEL', 'DEL', 'PEXPIRE'].includes(command ?? ''),
        )
        expect(writes).toEqual([
          ['HDEL', key, '"drop"'],
          ['HSET', key, '"change"', '4'],
          ['HSET', key, '"add"', '[5]'],
          [
            'HSET',
            key,
            'r',
            '6',
            'e',
            expect.stringMatching(/^\d+$/),
            'v',
            '2',
            'z',
            expect.stringMatching(/^\d+$/),
          ],
          ['HDEL', key, 'u', 'x'],
          ['PEXPIRE', key, '90000'],
        ])
      })

      it('S11: through the engine, 10 requests of one session writing at once: one command to load and one to save each', async () => {
        const manager = createSessionManager({ secret: SECRET, store })
        const first = manager.begin({ cookieHeader: undefined })
        ;((await first.load()) as unknown as Record<string, unknown>).n = 0
        const cookie = ((await first.commit()).setCookie[0] ?? '').split(';')[0] ?? ''
        const writers = 10
        const burst = await traffic(() =>
          Promise.all(
            Array.from({ length: writers }, async (_, i) => {
              const cycle = manager.begin({ cookieHeader: cookie })
              const session = (await cycle.load()) as unknown as Record<string, unknown>
              session[`k${i}`] = i
              await cycle.commit()
            }),
          ),
        )
        expect(burst.sent).toEqual(Array.from({ length: 2 * writers }, () => 'EVALSHA'))
        const read = manager.begin({ cookieHeader: cookie })
        const data = ((await read.load()) as unknown as { toJSON(): Record<string, unknown> }).toJSON()
        for (let i = 0; i < writers; i++) expect(data[`k${i}`]).toBe(i)
      })
    })
  }
})
