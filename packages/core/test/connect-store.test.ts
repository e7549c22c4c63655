import { describe, expect, it } from 'vitest'
import {
  type ConnectSessionStore,
  type ConnectStoreEvent,
  connectStore,
  createSessionManager,
  SessionError,
  type SessionEvent,
  type StoredSession,
} from '../src/index.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data
type Loose = any

const SECRET = 'connect-store-test-secret-0123456789-abcdef'
const ID = 'abcdefghijklmnopqrstuvwx'
const OTHER = 'ABCDEFGHIJKLMNOPQRSTUVWX'

type Mode = 'callback' | 'promise' | 'hybrid'

/**
 * A connect store kept in a Map, in one of the three styles stores come in: callbacks only
 * (MemoryStore), promises only, or both at once (connect-redis). It keeps the objects it is given
 * as they are, as a naive in-memory store does; `failing` makes every call fail the way the mode
 * reports errors.
 */
function fakeStore(mode: Mode = 'callback') {
  const held = new Map<string, unknown>()
  const calls: string[] = []
  const state = { failing: false }
  const answer = <T>(op: string, work: () => T) => {
    calls.push(op)
    if (state.failing) return { error: new Error(`${op} failed (fake)`) }
    return { value: work() }
  }
  const ops = {
    get: (sid: string) => answer('get', () => held.get(sid)),
    set: (sid: string, sess: unknown) => answer('set', () => void held.set(sid, sess)),
    destroy: (sid: string) => answer('destroy', () => void held.delete(sid)),
  }
  type Cb = (error?: unknown, value?: unknown) => void
  const viaCallback =
    (op: keyof typeof ops) =>
    (...args: unknown[]) => {
      const cb = args.pop() as Cb
      const result = (ops[op] as (...a: unknown[]) => { error?: Error; value?: unknown })(...args)
      setImmediate(() => (result.error ? cb(result.error) : cb(null, result.value)))
    }
  let store: ConnectSessionStore
  if (mode === 'callback') {
    store = {
      get: (sid, cb) => viaCallback('get')(sid, cb),
      set: (sid, sess, cb) => viaCallback('set')(sid, sess, cb),
      destroy: (sid, cb) => viaCallback('destroy')(sid, cb),
    }
  } else if (mode === 'promise') {
    const settle = async (result: { error?: Error; value?: unknown }) => {
      await new Promise((resolve) => setImmediate(resolve))
      if (result.error) throw result.error
      return result.value
    }
    store = {
      get: ((sid: string) => settle(ops.get(sid))) as ConnectSessionStore['get'],
      set: ((sid: string, sess: unknown) => settle(ops.set(sid, sess))) as ConnectSessionStore['set'],
      destroy: ((sid: string) => settle(ops.destroy(sid))) as ConnectSessionStore['destroy'],
    }
  } else {
    // connect-redis: an async method that calls back, then resolves with the callback's result.
    const both =
      (op: keyof typeof ops) =>
      async (sid: string, ...rest: unknown[]) => {
        const cb = rest.pop() as Cb
        await new Promise((resolve) => setImmediate(resolve))
        const result = (ops[op] as (...a: unknown[]) => { error?: Error; value?: unknown })(sid, ...rest)
        return result.error ? cb(result.error) : cb(null, result.value ?? null)
      }
    store = {
      get: (sid, cb) => both('get')(sid, cb),
      set: (sid, sess, cb) => both('set')(sid, sess, cb),
      destroy: (sid, cb) => both('destroy')(sid, cb),
    }
  }
  return { store, held, calls, state }
}

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  return { data, createdAt: 1000, refreshedAt: 2000, version, ...(user === undefined ? {} : { user }) }
}

async function request(
  manager: ReturnType<typeof createSessionManager>,
  cookie: string | undefined,
  handler: (session: Loose) => void,
) {
  const cycle = manager.begin({ cookieHeader: cookie })
  const session: Loose = await cycle.load()
  handler(session)
  const { setCookie } = await cycle.commit()
  return { cookie: setCookie[0]?.split(';')[0] ?? cookie, session }
}

describe('connectStore', () => {
  it.each(['callback', 'promise', 'hybrid'] as const)(
    'S1: a %s-style store round-trips a session; a missing id is undefined',
    async (mode) => {
      const fake = fakeStore(mode)
      const store = connectStore(fake.store)
      expect(await store.get(ID)).toBeUndefined()
      expect(await store.set(ID, record({ a: 1, nested: { b: [1] } }, 1, 'ada'), { ttl: 60 })).toBe('ok')
      expect(await store.get(ID)).toEqual(record({ a: 1, nested: { b: [1] } }, 1, 'ada'))
      await store.delete(ID)
      expect(await store.get(ID)).toBeUndefined()
      expect(fake.held.size).toBe(0)
    },
  )

  it('S2: the record carries the cookie entry connect stores take their expiry from', async () => {
    const clock = createTestClock(1_700_000_000_000)
    const fake = fakeStore()
    const store = connectStore(fake.store, { clock })
    await store.set(ID, record({ a: 1 }), { ttl: 90 })
    const held = fake.held.get(ID) as Loose
    expect(held.cookie).toEqual({
      originalMaxAge: 90_000,
      maxAge: 90_000,
      expires: new Date(1_700_000_090_000),
      httpOnly: true,
      path: '/',
    })
    // Plain JSON once serialised, as stores that keep JSON hold it.
    expect(JSON.parse(JSON.stringify(held))).toEqual({
      cookie: {
        originalMaxAge: 90_000,
        maxAge: 90_000,
        expires: '2023-11-14T22:14:50.000Z',
        httpOnly: true,
        path: '/',
      },
      '@x/session': { format: 1, data: { a: 1 }, createdAt: 1000, refreshedAt: 2000, version: 1 },
    })
    // A store that does not expire records itself: past cookie.expires, the record is no session.
    clock.advance(89)
    expect(await store.get(ID)).toBeDefined()
    clock.advance(1)
    expect(await store.get(ID)).toBeUndefined()
  })

  it('S1: what the store keeps and what a caller gets are copies, even from a store that keeps objects', async () => {
    const fake = fakeStore()
    const store = connectStore(fake.store)
    const session = record({ list: [1] })
    await store.set(ID, session, { ttl: 60 })
    ;(session.data.list as number[]).push(2)
    const read = (await store.get(ID)) as StoredSession
    expect(read.data).toEqual({ list: [1] })
    ;(read.data.list as number[]).push(3)
    expect((await store.get(ID))?.data).toEqual({ list: [1] })
  })

  it('T6: garbage, foreign and damaged records are no session, reported without the id, left in place', async () => {
    const fake = fakeStore()
    const events: ConnectStoreEvent[] = []
    const store = connectStore(fake.store, { onEvent: (e) => events.push(e) })
    const good = { format: 1, data: {}, createdAt: 1, refreshedAt: 1, version: 1 }
    const cyclic: Loose = { a: 1 }
    cyclic.self = cyclic
    const throwing = {
      get '@x/session'() {
        throw new Error('getter')
      },
    }
    const cases: Array<[unknown, ConnectStoreEvent['reason']]> = [
      ['{"@x/session":{}}', 'foreign'],
      [42, 'foreign'],
      [[good], 'foreign'],
      [{ cookie: { expires: new Date(Date.now() + 60_000) }, user: 'ada' }, 'foreign'],
      [throwing, 'bad-fields'],
      [{ '@x/session': { ...good, format: 2 } }, 'bad-fields'],
      [{ '@x/session': { ...good, data: [] } }, 'bad-fields'],
      [{ '@x/session': { ...good, data: null } }, 'bad-fields'],
      [{ '@x/session': { ...good, createdAt: '1' } }, 'bad-fields'],
      [{ '@x/session': { ...good, refreshedAt: Number.NaN } }, 'bad-fields'],
      [{ '@x/session': { ...good, version: 0 } }, 'bad-fields'],
      [{ '@x/session': { ...good, version: 1.5 } }, 'bad-fields'],
      [{ '@x/session': { ...good, user: 7 } }, 'bad-fields'],
      [{ '@x/session': { ...good, data: cyclic } }, 'bad-fields'],
      [{ '@x/session': { ...good, data: { n: 1n } } }, 'bad-fields'],
      [{ '@x/session': good, cookie: { expires: 'not a date' } }, 'bad-fields'],
    ]
    for (const [raw, reason] of cases) {
      fake.held.set(ID, raw)
      events.length = 0
      expect(await store.get(ID), JSON.stringify(reason)).toBeUndefined()
      expect(events).toEqual([{ type: 'corrupt', reason }])
      expect(fake.held.get(ID)).toBe(raw)
    }
    expect(JSON.stringify(events)).not.toContain(ID)
    // An expired record is no session, and not corrupt; null is what connect stores answer for none.
    events.length = 0
    fake.held.set(ID, { '@x/session': good, cookie: { expires: new Date(Date.now() - 1).toISOString() } })
    expect(await store.get(ID)).toBeUndefined()
    fake.held.set(ID, null)
    expect(await store.get(ID)).toBeUndefined()
    expect(events).toEqual([])
    // Ours, well formed, with its cookie entry as JSON gives it back: a session.
    fake.held.set(ID, {
      '@x/session': good,
      cookie: { expires: new Date(Date.now() + 60_000).toISOString() },
    })
    expect(await store.get(ID)).toEqual({ data: {}, createdAt: 1, refreshedAt: 1, version: 1 })
  })

  it('T6 through the engine: an express-session record under the id a cookie names is no session, not a crash', async () => {
    const fake = fakeStore()
    const events: SessionEvent[] = []
    const manager = createSessionManager({
      secret: SECRET,
      store: connectStore(fake.store),
      onEvent: (e) => events.push(e),
    })
    const { cookie, session } = await request(manager, undefined, (s) => {
      s.user = 'ada'
    })
    fake.held.set(session.id, { cookie: { originalMaxAge: 1000 }, user: 'mallory', '@x/session': 'x' })
    const next = await request(manager, cookie, () => {})
    expect(next.session.isNew).toBe(true)
    expect(next.session.user).toBeUndefined()
    expect(events).toContainEqual({ type: 'invalid', reason: 'not-found', cookie: 'session' })
  })

  it.each(['callback', 'promise', 'hybrid'] as const)(
    'S7: a %s-style store that fails makes every call reject with its error; the engine fails closed and keeps the stored session',
    async (mode) => {
      const fake = fakeStore(mode)
      const store = connectStore(fake.store)
      await store.set(ID, record({ keep: 1 }), { ttl: 60 })
      fake.state.failing = true
      for (const op of [
        () => store.get(ID),
        () => store.set(ID, record({}), { ttl: 60 }),
        () => store.delete(ID),
        () => store.touch(ID, 60, 1),
        () => store.apply(ID, { set: { a: 1 }, remove: [], refreshedAt: 1 }, { ttl: 60 }),
      ]) {
        await expect(op()).rejects.toThrow(/failed \(fake\)/)
      }
      fake.state.failing = false
      expect((await store.get(ID))?.data).toEqual({ keep: 1 })

      const manager = createSessionManager({ secret: SECRET, store })
      const first = await request(manager, undefined, (s) => {
        s.user = 'ada'
      })
      fake.state.failing = true
      const cycle = manager.begin({ cookieHeader: first.cookie })
      const session: Loose = await cycle.load()
      let error: unknown
      try {
        session.user = 'mallory'
      } catch (e) {
        error = e
      }
      expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_STORE_UNAVAILABLE')
      expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
      fake.state.failing = false
      expect((await request(manager, first.cookie, () => {})).session.user).toBe('ada')
    },
  )

  it('S7: a store method that throws instead of calling back rejects; one that calls back twice is answered once', async () => {
    const store = connectStore({
      get() {
        throw new Error('sync throw')
      },
      set: (_sid, _sess, cb) => {
        cb()
        cb(new Error('second call'))
      },
      destroy: async (_sid, _cb) => {
        throw new Error('async throw')
      },
    })
    await expect(store.get(ID)).rejects.toThrow('sync throw')
    expect(await store.set(ID, record({}), { ttl: 60 })).toBe('ok')
    await expect(store.delete(ID)).rejects.toThrow('async throw')
  })

  it('S5: touch sets refreshedAt and a new expiry without changing the data, with or without a store touch; a missing record stays missing', async () => {
    const clock = createTestClock(1_700_000_000_000)
    const fake = fakeStore()
    let storeTouches = 0
    const withTouch = Object.assign(fake.store, {
      touch: (_sid: string, _sess: unknown, cb: () => void) => {
        storeTouches++
        cb()
      },
    })
    const store = connectStore(withTouch, { clock })
    await store.set(ID, record({ a: 1 }, 3), { ttl: 10 })
    clock.advance(5)
    await store.touch(ID, 60, 4242)
    expect(await store.get(ID)).toEqual({ ...record({ a: 1 }, 3), refreshedAt: 4242 })
    expect((fake.held.get(ID) as Loose).cookie.expires).toEqual(new Date(1_700_000_065_000))
    // The store's own touch only resets its timer: refreshedAt would be lost, so it is not used.
    expect(storeTouches).toBe(0)
    await store.touch(OTHER, 60, 1)
    expect(fake.held.has(OTHER)).toBe(false)
  })

  it('S11: apply merges the change into the record read just before, bumps the version, and never brings back a missing one', async () => {
    const store = connectStore(fakeStore().store)
    await store.set(ID, record({ keep: 1, drop: 2, change: 'a' }, 4, 'ada'), { ttl: 60 })
    expect(
      await store.apply(
        ID,
        { set: { change: 'b', ['__proto__']: { polluted: true } }, remove: ['drop'], refreshedAt: 5000 },
        { ttl: 60 },
      ),
    ).toBe(5)
    const read = await store.get(ID)
    expect(read?.data).toEqual(JSON.parse('{"keep":1,"change":"b","__proto__":{"polluted":true}}'))
    expect(Object.getPrototypeOf(read?.data)).toBe(Object.prototype)
    expect(read).toMatchObject({ version: 5, refreshedAt: 5000, createdAt: 1000, user: 'ada' })
    expect(
      await store.apply(ID, { set: {}, remove: [], refreshedAt: 1, bind: { user: undefined } }, { ttl: 60 }),
    ).toBe(6)
    expect((await store.get(ID))?.user).toBeUndefined()
    expect(
      await store.apply(OTHER, { set: { a: 1 }, remove: [], refreshedAt: 1 }, { ttl: 60 }),
    ).toBeUndefined()
    expect(await store.get(OTHER)).toBeUndefined()
  })

  it('S3 (declared): set ignores expectVersion, so the engine never loops on a conflict', async () => {
    const store = connectStore(fakeStore().store)
    expect(store.unsupported.versionedSet).toMatch(/compare-and-set/)
    await store.set(ID, record({ a: 1 }, 5), { ttl: 60 })
    expect(await store.set(ID, record({ a: 2 }, 2), { ttl: 60, expectVersion: 0 })).toBe('ok')
    expect(await store.get(ID)).toMatchObject({ data: { a: 2 }, version: 2 })
  })

  it('S4: parallel requests of one session in this process keep every key, with no conflict', async () => {
    const events: SessionEvent[] = []
    for (const mode of ['callback', 'promise', 'hybrid'] as const) {
      const manager = createSessionManager({
        secret: SECRET,
        store: connectStore(fakeStore(mode).store),
        onEvent: (e) => events.push(e),
      })
      const { cookie } = await request(manager, undefined, (s) => {
        s.user = 'ada'
      })
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          request(manager, cookie, (s) => {
            s[`k${i}`] = i
          }),
        ),
      )
      const data = (await request(manager, cookie, () => {})).session.toJSON()
      expect(data, mode).toEqual({
        user: 'ada',
        ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])),
      })
    }
    expect(events.filter((e) => e.type === 'conflict' || e.type === 'store-error')).toEqual([])
  })

  it('S6 (declared): no per-user index: listUserSessions is refused, endUserSessions needs revocations', async () => {
    const store = connectStore(fakeStore().store)
    expect(store.listByUser).toBeUndefined()
    expect(store.deleteByUser).toBeUndefined()
    const manager = createSessionManager({ secret: SECRET, store })
    await expect(manager.listUserSessions('ada')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' })
    await expect(manager.endUserSessions('ada')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' })
  })

  it('S8: ids are validated before the connect store is called', async () => {
    const fake = fakeStore()
    const store = connectStore(fake.store)
    for (const bad of ['', 'short', '../../etc/passwd0000000', 'a'.repeat(25), '__proto__']) {
      for (const op of [
        () => store.get(bad),
        () => store.set(bad, record({}), { ttl: 60 }),
        () => store.delete(bad),
        () => store.touch(bad, 60, 1),
        () => store.apply(bad, { set: {}, remove: [], refreshedAt: 1 }, { ttl: 60 }),
      ]) {
        await expect(op()).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_ID' })
      }
    }
    expect(fake.calls).toEqual([])
  })

  it('S10: data over maxDataSize is refused with ERR_SESSION_TOO_LARGE before the store is written', async () => {
    const fake = fakeStore()
    const store = connectStore(fake.store, { maxDataSize: 20 })
    await store.set(ID, record({ v: 'x'.repeat(12) }), { ttl: 60 })
    await expect(store.set(ID, record({ v: 'é'.repeat(7) }), { ttl: 60 })).rejects.toMatchObject({
      code: 'ERR_SESSION_TOO_LARGE',
    })
    await expect(
      store.apply(ID, { set: { w: 1 }, remove: [], refreshedAt: 1 }, { ttl: 60 }),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' })
    expect((await store.get(ID))?.data).toEqual({ v: 'x'.repeat(12) })
    expect(fake.calls.filter((c) => c === 'set')).toHaveLength(1)
  })

  it('refuses at construction what is not a connect store, and a bad maxDataSize', () => {
    for (const bad of [undefined, null, {}, { get() {}, set() {} }, 'redis']) {
      expect(() => connectStore(bad as unknown as ConnectSessionStore)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
      )
    }
    expect(() => connectStore(fakeStore().store, { maxDataSize: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
    )
  })
})
