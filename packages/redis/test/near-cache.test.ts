import { describeStoreConformance, testId } from '@x/session-conformance-tests'
import { createSessionManager, SessionError, type SessionStore, type StoredSession } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import type { Redis } from 'ioredis'
import { createClient } from 'redis'
import { describe, expect, it } from 'vitest'
import {
  type RedisSessionStore,
  type RedisStoreEvent,
  type RedisStoreOptions,
  redisStore,
} from '../src/index.js'
import { TRACKING_CLIENT_NAME } from '../src/internal/tracking.js'
import { describeWith, probe, REDIS_URL, sharedClients, uniquePrefix, within } from './helpers.js'

const shared = await probe()
const prefix = uniquePrefix('near')
const ids = new Map<number, string>()
/** The same valid session id for the same number, within this file. */
const ID = (n: number) => ids.get(n) ?? (ids.set(n, testId()).get(n) as string)

/**
 * A gate: what comes while it is closed waits until `open()`, even if it is no longer closed by
 * then; opening it lets everything waiting through in order.
 */
class Gate {
  #queue: Array<() => void> = []
  closed = false
  pass(run: () => void): void {
    if (this.closed) this.#queue.push(run)
    else run()
  }
  get waiting(): number {
    return this.#queue.length
  }
  wait(): Promise<void> {
    return new Promise((resolve) => this.pass(resolve))
  }
  open(): void {
    this.closed = false
    for (const run of this.#queue.splice(0)) run()
  }
  /** Lets the first waiting thing through, and keeps the gate closed. */
  openOne(): void {
    this.#queue.shift()?.()
  }
}

/**
 * The app's client as the store sees it, with hooks: every script call counted, script replies
 * (`replies`), invalidations (`invalidations`) and heartbeat pings (`pings`) each held while
 * their gate is closed, so a test decides what arrives first.
 */
function instrumented(client: Redis | ReturnType<typeof createClient>) {
  const gates = { replies: new Gate(), invalidations: new Gate(), pings: new Gate() }
  const calls = { scripts: 0 }
  const hold = <T>(gate: Gate, promise: Promise<T>) => {
    const waiting = gate.closed ? gate.wait() : undefined
    return promise.then(async (v) => {
      await waiting
      return v
    })
  }
  const proxy = new Proxy(client, {
    get(target, name) {
      const value = Reflect.get(target, name)
      if (typeof value !== 'function') return value
      if (name === 'evalsha' || name === 'evalSha' || name === 'eval') {
        return (...args: unknown[]) => {
          calls.scripts++
          return hold(gates.replies, value.apply(target, args))
        }
      }
      if (name === 'duplicate') {
        return (...args: unknown[]) => {
          const connection = value.apply(target, args)
          const on = connection.on.bind(connection)
          connection.on = (event: string, listener: (...a: unknown[]) => void) =>
            on(
              event,
              event === 'messageBuffer'
                ? (...a: unknown[]) => gates.invalidations.pass(() => listener(...a))
                : listener,
            )
          const subscribe = connection.subscribe.bind(connection)
          connection.subscribe = (channel: string, listener?: unknown, buffers?: boolean) =>
            typeof listener === 'function'
              ? subscribe(
                  channel,
                  (...a: unknown[]) => gates.invalidations.pass(() => listener(...a)),
                  buffers,
                )
              : subscribe(channel)
          const ping = connection.ping.bind(connection)
          connection.ping = () => hold(gates.pings, ping())
          return connection
        }
      }
      return value.bind(target)
    },
  })
  return { client: proxy, gates, calls }
}

/** A store with the near cache, once its tracking connection is up. */
async function cachedStore(options: RedisStoreOptions) {
  const events: RedisStoreEvent[] = []
  const waiters: Array<{ state: string; resolve: () => void }> = []
  const store = redisStore({
    nearCache: { ttl: 60 },
    ...options,
    onEvent: (event) => {
      events.push(event)
      if (event.type !== 'near-cache') return
      for (const waiter of waiters.splice(0)) {
        if (waiter.state === event.state) waiter.resolve()
        else waiters.push(waiter)
      }
    },
  })
  const next = (state: 'tracking' | 'lost') =>
    within(5000, new Promise<void>((resolve) => waiters.push({ state, resolve })), `near cache ${state}`)
  await next('tracking')
  return { store, events, next }
}

function record(data: Record<string, unknown>, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version: 1, ...(user === undefined ? {} : { user }) }
}

describeWith(`redisStore({ nearCache }) on ${REDIS_URL}`, shared, () => {
  const clients = sharedClients(prefix)

  for (const kind of ['node-redis', 'ioredis'] as const) {
    const client = () => (kind === 'node-redis' ? clients.nodeRedis : clients.ioredis)
    let n = 0
    describeStoreConformance({
      name: `redis with a near cache (${kind})`,
      realTime: true,
      create: async () => (await cachedStore({ client: client(), prefix: `${prefix}${kind}:${n++}:` })).store,
      namespaced: async (namespace) =>
        (await cachedStore({ client: client(), prefix: `${prefix}${kind}:${namespace}:` })).store,
    })

    describe(`with ${kind}`, () => {
      let i = 0
      const setup = async (options: Partial<RedisStoreOptions> = {}) => {
        const hooks = instrumented(client())
        const p = `${prefix}${kind}:case${i++}:`
        const cached = await cachedStore({ client: hooks.client as never, prefix: p, ...options })
        const key = (id: string) => `${p}{${id}}`
        return { ...cached, ...hooks, key }
      }

      it('a second read of an unchanged session is served by this process, without Redis', async () => {
        const { store, calls } = await setup()
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        const before = calls.scripts
        expect((await store.get(ID(1)))?.data).toEqual({ n: 1 })
        expect((await store.get(ID(1)))?.data).toEqual({ n: 1 })
        expect(calls.scripts - before).toBe(1)
      })

      it('every read gets its own copy of the data: a request changing it changes no other', async () => {
        const { store } = await setup()
        await store.set(ID(1), record({ cart: { items: [1] } }), { ttl: 60 })
        await store.get(ID(1))
        const first = await store.get(ID(1))
        ;(first?.data.cart as { items: number[] } | undefined)?.items.push(2)
        expect((await store.get(ID(1)))?.data).toEqual({ cart: { items: [1] } })
      })

      it("a change written by another client reaches this process's copy through Redis", async () => {
        const { store, gates, key } = await setup()
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await store.get(ID(1))
        gates.invalidations.closed = true
        await clients.admin.hset(key(ID(1)), '"n"', '2')
        // Held back, the invalidation has not arrived: the copy is still served.
        expect((await store.get(ID(1)))?.data).toEqual({ n: 1 })
        gates.invalidations.open()
        await waitForData(store, ID(1), { n: 2 })
      })

      const writes: Array<
        [string, (store: SessionStore) => Promise<unknown>, Partial<StoredSession> | undefined]
      > = [
        ['set', (s) => s.set(ID(1), record({ n: 2 }), { ttl: 60 }), { data: { n: 2 } }],
        [
          'apply',
          (s) => s.apply!(ID(1), { set: { n: 3 }, remove: [], refreshedAt: 5 }, { ttl: 60 }),
          { data: { n: 3 }, refreshedAt: 5 },
        ],
        ['touch', (s) => s.touch!(ID(1), 60, 7), { data: { n: 1 }, refreshedAt: 7 }],
        ['delete', (s) => s.delete(ID(1)), undefined],
      ]
      for (const [name, write, expected] of writes) {
        it(`a ${name} through this process is read back by it at once, before Redis' invalidation`, async () => {
          const { store, gates } = await setup()
          await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
          await store.get(ID(1))
          gates.invalidations.closed = true
          await write(store)
          const read = await store.get(ID(1))
          if (expected === undefined) expect(read).toBeUndefined()
          else expect(read).toMatchObject(expected)
          gates.invalidations.open()
        })
      }

      it('deleteByUser drops the copies of that user’s sessions at once', async () => {
        const { store, gates } = await setup()
        await store.set(ID(1), record({ n: 1 }, 'ada'), { ttl: 60 })
        await store.set(ID(2), record({ n: 2 }, 'bob'), { ttl: 60 })
        await store.get(ID(1))
        await store.get(ID(2))
        gates.invalidations.closed = true
        expect(await store.deleteByUser('ada')).toBe(1)
        expect(await store.get(ID(1))).toBeUndefined()
        expect((await store.get(ID(2)))?.data).toEqual({ n: 2 })
        gates.invalidations.open()
      })

      it('a read answered after a write of this process is returned but not kept', async () => {
        const { store, gates } = await setup()
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        gates.invalidations.closed = true
        gates.replies.closed = true
        // Sent before the write, its answer (n = 1) held back until the write is answered.
        const early = store.get(ID(1))
        gates.replies.closed = false
        await store.set(ID(1), record({ n: 2 }), { ttl: 60 })
        gates.replies.open()
        expect((await early)?.data).toEqual({ n: 1 })
        expect((await store.get(ID(1)))?.data).toEqual({ n: 2 })
        gates.invalidations.open()
      })

      it('a copy is served no longer than the record lives, nor than `nearCache.ttl`', async () => {
        const clock = createTestClock()
        const { store, calls } = await setup({ clock, nearCache: { ttl: 30 } })
        await store.set(ID(1), record({ n: 1 }), { ttl: 40 })
        await store.set(ID(2), record({ n: 2 }), { ttl: 100 })
        await store.get(ID(1))
        await store.get(ID(2))
        clock.advance(31)
        const before = calls.scripts
        expect((await store.get(ID(2)))?.data).toEqual({ n: 2 })
        expect(calls.scripts - before).toBe(1)
        clock.advance(10)
        expect(await store.get(ID(1))).toBeUndefined()
      })

      it('while tracking is lost the cache is bypassed, and emptied before it is trusted again', async () => {
        const before = await trackerIds()
        const { store, key, next, events } = await setup()
        const mine = [...(await trackerIds())].filter((id) => !before.has(id))
        expect(mine).toHaveLength(1)
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await store.get(ID(1))
        const lost = next('lost')
        await clients.admin.client('KILL', 'ID', mine[0]!)
        await lost
        const back = next('tracking')
        // Written while no invalidation can reach this process.
        await clients.admin.hset(key(ID(1)), '"n"', '2')
        expect((await store.get(ID(1)))?.data).toEqual({ n: 2 })
        await back
        expect((await store.get(ID(1)))?.data).toEqual({ n: 2 })
        expect(events.filter((e) => e.type === 'near-cache').map((e) => e.state)).toEqual([
          'tracking',
          'lost',
          'tracking',
        ])
      })

      for (const strict of [true, false]) {
        it(`strict: ${strict}: a read that starts after a change was answered ${strict ? 'never gets' : 'may get'} the old copy while the invalidation is slow`, async () => {
          const { store, gates, key } = await setup({ nearCache: { strict } })
          await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
          await store.get(ID(1))
          // A slow network: the tracking connection's invalidations and answers held, in order.
          gates.pings = gates.invalidations
          gates.invalidations.closed = true
          await clients.admin.hset(key(ID(1)), '"n"', '2')
          for (let i = 0; i < 200 && gates.invalidations.waiting === 0; i++)
            await new Promise((r) => setTimeout(r, 10))
          expect(gates.invalidations.waiting).toBe(1)
          const read = store.get(ID(1))
          await new Promise((resolve) => setTimeout(resolve, 20))
          gates.invalidations.open()
          expect((await read)?.data).toEqual({ n: strict ? 2 : 1 })
        })
      }

      it('strict: false: a held copy is answered by peek in the caller’s tick, parsed once, frozen and shared', async () => {
        const { store, calls } = await setup({ nearCache: { strict: false } })
        await store.set(ID(1), record({ cart: { items: [1] } }, 'ada'), { ttl: 60 })
        // Nothing held yet: only `get` can answer, and it keeps what it read.
        expect(store.peek?.(ID(1))).toBeUndefined()
        await holdCopy(store, ID(1))
        const before = calls.scripts
        const first = store.peek?.(ID(1))
        expect(first).toMatchObject({ data: { cart: { items: [1] } }, user: 'ada', version: 1 })
        expect(store.peek?.(ID(1))).toBe(first)
        expect(Object.isFrozen(first)).toBe(true)
        const items = (first?.data.cart as { items: number[] } | undefined)?.items ?? []
        expect(Object.isFrozen(items)).toBe(true)
        expect(() => items.push(2)).toThrow(TypeError)
        expect(calls.scripts).toBe(before)
      })

      it('strict: false: peek never answers a copy that a write, an invalidation or an expiry ended', async () => {
        const clock = createTestClock()
        const { store, gates, key } = await setup({ clock, nearCache: { strict: false, ttl: 30 } })
        const held = (n: number) => holdCopy(store, ID(n))
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await held(1)
        gates.invalidations.closed = true
        await store.set(ID(1), record({ n: 2 }), { ttl: 60 })
        // This process's own write dropped its copy before Redis' invalidation came.
        expect(store.peek?.(ID(1))).toBeUndefined()
        expect((await store.get(ID(1)))?.data).toEqual({ n: 2 })
        gates.invalidations.open()
        await held(1)
        await clients.admin.hset(key(ID(1)), '"n"', '3')
        await waitForData(store, ID(1), { n: 3 })
        await held(1)
        expect(store.peek?.(ID(1))?.data).toEqual({ n: 3 })
        await store.delete(ID(1))
        expect(store.peek?.(ID(1))).toBeUndefined()
        // Past `nearCache.ttl`, and past the record's own expiry: `get` decides.
        await store.set(ID(2), record({ n: 2 }), { ttl: 100 })
        await store.set(ID(3), record({ n: 3 }), { ttl: 40 })
        await held(2)
        await held(3)
        clock.advance(31)
        expect(store.peek?.(ID(2))).toBeUndefined()
        await held(2)
        clock.advance(10)
        expect(store.peek?.(ID(3))).toBeUndefined()
        expect(await store.get(ID(3))).toBeUndefined()
      })

      it('at most `max` copies are kept, and the one read least recently is dropped first', async () => {
        const { store } = await setup({ nearCache: { strict: false, max: 4 } })
        for (const n of [1, 2, 3, 4, 5]) await store.set(ID(n), record({ n }), { ttl: 60 })
        for (const n of [1, 2, 3, 4]) await holdCopy(store, ID(n))
        // 1 and 2 read again: 3 is now the least recently read.
        expect(store.peek?.(ID(1))).toBeDefined()
        expect(store.peek?.(ID(2))).toBeDefined()
        await holdCopy(store, ID(5))
        expect([1, 2, 3, 4, 5].filter((n) => store.peek?.(ID(n)) !== undefined)).toEqual([1, 2, 4, 5])
      })

      it('strict: false: while tracking is lost peek answers nothing', async () => {
        const { store, next, gates } = await setup({ nearCache: { strict: false, heartbeat: 0.05 } })
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await holdCopy(store, ID(1))
        gates.pings.closed = true
        await next('lost')
        expect(store.peek?.(ID(1))).toBeUndefined()
        gates.pings.open()
        await next('tracking')
        // The copy from before the gap was dropped: it must be read again before it is served.
        expect(store.peek?.(ID(1))).toBeUndefined()
      })

      it('strict: false: L2 / S5: a held copy loads in the request’s tick; a change is the request’s own until it commits, then the next read sees it', async () => {
        const { store, calls } = await setup({ nearCache: { strict: false } })
        const manager = createSessionManager({ secret: `near-cache-secret-${'x'.repeat(32)}`, store })
        const login = manager.begin({ cookieHeader: undefined })
        Object.assign(await login.load(), { cart: { items: [1] } })
        const cookie = (await login.commit()).setCookie.map((h) => h.split(';')[0]).join('; ')
        const id = (await manager.begin({ cookieHeader: cookie }).load()).id
        await holdCopy(store, id)
        const before = calls.scripts
        const mine = manager.begin({ cookieHeader: cookie })
        const session = mine.loadSync() as { cart: { items: number[] } } | undefined
        expect(session?.cart.items).toEqual([1])
        session?.cart.items.push(2)
        const other = manager.begin({ cookieHeader: cookie }).loadSync() as unknown as {
          cart: { items: number[] }
        }
        expect(other.cart.items).toEqual([1])
        expect(calls.scripts).toBe(before)
        await mine.commit()
        const after = manager.begin({ cookieHeader: cookie })
        expect(((await after.load()) as unknown as { cart: { items: number[] } }).cart.items).toEqual([1, 2])
      })

      it('strict: true (the default): peek never answers, since a strict read waits for its PING', async () => {
        const { store } = await setup()
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await store.get(ID(1))
        expect((await store.get(ID(1)))?.data).toEqual({ n: 1 })
        expect(store.peek?.(ID(1))).toBeUndefined()
        // No `peek` at all: a request on a strict or uncached store makes no call that cannot answer.
        expect(store.peek).toBeUndefined()
        expect(redisStore({ client: client(), prefix: `${prefix}plain:` }).peek).toBeUndefined()
      })

      it('strict: a read that starts while an earlier read’s PING is on its way waits for a PING of its own', async () => {
        const { store, gates, key } = await setup()
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await store.get(ID(1))
        // One queue, in arrival order: the first PING's answer, the invalidation, the second PING's.
        gates.pings = gates.invalidations
        gates.invalidations.closed = true
        const first = store.get(ID(1))
        for (let i = 0; i < 200 && gates.invalidations.waiting === 0; i++)
          await new Promise((r) => setTimeout(r, 5))
        await clients.admin.hset(key(ID(1)), '"n"', '2')
        for (let i = 0; i < 200 && gates.invalidations.waiting < 2; i++)
          await new Promise((r) => setTimeout(r, 5))
        expect(gates.invalidations.waiting).toBe(2)
        // Starts after the change was answered, while the first PING is still on its way.
        const second = store.get(ID(1))
        await new Promise((resolve) => setTimeout(resolve, 20))
        // The first PING's answer alone: the first read, which started before the change, may
        // have the old copy; the second may not, whatever comes next.
        gates.invalidations.openOne()
        expect((await first)?.data).toEqual({ n: 1 })
        const early = await Promise.race([second, new Promise((r) => setTimeout(() => r('waiting'), 20))])
        expect(early).toBe('waiting')
        gates.invalidations.open()
        expect((await second)?.data).toEqual({ n: 2 })
      })

      it('a strict read waiting on a tracking connection that stopped answering reads from Redis once it is lost', async () => {
        const { store, next, gates } = await setup({ nearCache: { heartbeat: 0.05 } })
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        await store.get(ID(1))
        gates.pings.closed = true
        const lost = next('lost')
        const read = store.get(ID(1))
        await lost
        expect((await within(2000, read, 'the read'))?.data).toEqual({ n: 1 })
        gates.pings.open()
        await next('tracking')
      })

      it('a tracking connection that stops answering is treated as lost (heartbeat)', async () => {
        const { store, next, gates } = await setup({ nearCache: { heartbeat: 0.05 } })
        await store.set(ID(1), record({ n: 1 }), { ttl: 60 })
        gates.pings.closed = true
        await next('lost')
        gates.pings.open()
        await next('tracking')
      })
    })
  }

  it('tracks through a RESP3 node-redis client too (its tracking connection is RESP2)', async () => {
    const resp3 = createClient({ url: REDIS_URL, RESP: 3 })
    await resp3.connect()
    try {
      const p = `${prefix}resp3:`
      const { store } = await cachedStore({ client: resp3, prefix: p })
      await store.set(ID(9), record({ n: 1 }), { ttl: 60 })
      await store.get(ID(9))
      await clients.admin.hset(`${p}{${ID(9)}}`, '"n"', '2')
      await waitForData(store, ID(9), { n: 2 })
    } finally {
      await resp3.close()
    }
  })

  it('many stores on one client share one listener on it, and all stop tracking when it ends', async () => {
    const client = createClient({ url: REDIS_URL })
    await client.connect()
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on('warning', onWarning)
    try {
      const before = await trackerIds()
      const listeners = client.listenerCount('end')
      for (let i = 0; i < 12; i++) await cachedStore({ client, prefix: `${prefix}many:${i}:` })
      expect([...(await trackerIds())].filter((id) => !before.has(id))).toHaveLength(12)
      expect(client.listenerCount('end') - listeners).toBe(1)
      await client.close()
      for (let i = 0; i < 100 && [...(await trackerIds())].some((id) => !before.has(id)); i++)
        await new Promise((resolve) => setTimeout(resolve, 20))
      expect([...(await trackerIds())].filter((id) => !before.has(id))).toEqual([])
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings).not.toContain('MaxListenersExceededWarning')
    } finally {
      process.off('warning', onWarning)
      if (client.isOpen) await client.close()
    }
  })

  it('refuses a bad option or a Cluster client with INVALID_OPTION, at construction', () => {
    const codes = (options: Partial<RedisStoreOptions>) => {
      try {
        redisStore({ client: clients.ioredis, ...options })
        return 'none'
      } catch (error) {
        return SessionError.is(error) ? error.code : String(error)
      }
    }
    for (const nearCache of [{ max: 0 }, { ttl: -1 }, { heartbeat: 0 }, { ttl: Number.NaN }, null]) {
      expect(codes({ nearCache: nearCache as never })).toBe('ERR_SESSION_INVALID_OPTION')
    }
    const cluster = { isCluster: true, duplicate() {}, defineCommand() {}, evalsha() {}, eval() {} }
    expect(codes({ client: cluster as never, nearCache: true })).toBe('ERR_SESSION_INVALID_OPTION')
  })

  /** The ids of the tracking connections open now, on the shared Redis. */
  async function trackerIds(): Promise<Set<string>> {
    const list = String(await clients.admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
    const ids = new Set<string>()
    for (const line of list.split('\n')) {
      const id = /\bid=(\d+)/.exec(line)?.[1]
      if (id && line.includes(` name=${TRACKING_CLIENT_NAME} `)) ids.add(id)
    }
    return ids
  }
})

/**
 * Reads `id` until this process holds a copy: a read answered while Redis' invalidation of the
 * write before it is still on its way is, rightly, not kept.
 */
async function holdCopy(store: RedisSessionStore, id: string): Promise<void> {
  for (let i = 0; i < 50 && store.peek?.(id) === undefined; i++) {
    await store.get(id)
    if (store.peek?.(id) === undefined) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  expect(store.peek?.(id)).toBeDefined()
}

async function waitForData(store: SessionStore, id: string, data: object): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const read = await store.get(id)
    if (JSON.stringify(read?.data) === JSON.stringify(data)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  expect((await store.get(id))?.data).toEqual(data)
}
