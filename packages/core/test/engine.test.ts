import fc from 'fast-check'
import { defaults as ironDefaults, seal as ironSeal } from 'iron-webcrypto'
import { describe, expect, it, vi } from 'vitest'
import {
  createSessionManager,
  isSessionId,
  memoryRevocations,
  memoryStore,
  RESERVED_KEYS,
  type RevocationStore,
  SessionError,
  type SessionEvent,
  type SessionOptions,
} from '../src/index.js'
import { defaultBackend } from '../src/internal/crypto-backend.js'
import { createSealer } from '../src/internal/sealer.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

const SECRET = 'engine-test-secret-0123456789-abcdefghij'

function setup(extra: Partial<SessionOptions> = {}) {
  const clock = createTestClock()
  const events: SessionEvent[] = []
  const manager = createSessionManager({ secret: SECRET, clock, onEvent: (e) => events.push(e), ...extra })
  /** One request: load, run `handler`, commit; returns the Set-Cookie values and a cookie header for the next. */
  const request = async (cookie: string | undefined, handler: (s: Loose) => unknown = () => {}) => {
    const cycle = manager.begin({ cookieHeader: cookie })
    const session = await cycle.load()
    await handler(session as never)
    const result = await cycle.commit()
    const next = result.setCookie.length
      ? result.setCookie
          .map((h) => h.split(';')[0])
          .filter((pair) => !pair?.endsWith('='))
          .join('; ')
      : cookie
    return { ...result, next, session }
  }
  return { manager, clock, events, request }
}

describe('options', () => {
  it('K1: a short, empty or duplicate secret or a bad key id fails construction with a code', () => {
    const cases: unknown[] = [
      'x'.repeat(31),
      '',
      { a: SECRET, b: SECRET },
      { 'a-b': SECRET },
      { '': SECRET },
      {},
    ]
    for (const secret of cases) {
      const error = (() => {
        try {
          createSessionManager({ secret: secret as never })
        } catch (e) {
          return e
        }
      })()
      expect(SessionError.is(error), JSON.stringify(secret)).toBe(true)
      expect((error as SessionError).code).toBe('ERR_SESSION_INVALID_SECRET')
      expect(String((error as Error).message)).not.toContain(SECRET)
    }
  })

  it('K1: without a secret, production refuses to start; elsewhere one is made per process, with one warning', () => {
    const env = process.env.NODE_ENV
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      process.env.NODE_ENV = 'production'
      expect(() => createSessionManager({})).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_SECRET' }),
      )
      process.env.NODE_ENV = 'development'
      createSessionManager({})
      createSessionManager({})
      expect(warn).toHaveBeenCalledTimes(1)
    } finally {
      process.env.NODE_ENV = env
      warn.mockRestore()
    }
  })

  it('C1: cookie names and attributes that cannot be sent are refused at construction', () => {
    for (const cookie of [
      { name: 'a b' },
      { name: 'a;b' },
      { name: 'a=b' },
      { path: '/a;b' },
      { domain: 'a,b' },
    ]) {
      expect(() => createSessionManager({ secret: SECRET, cookie })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_COOKIE' }),
      )
    }
  })

  it('C2: __Host- and __Secure- names, Partitioned and SameSite=None need Secure', () => {
    for (const cookie of [
      { name: '__Host-sid' },
      { name: '__Host-sid', secure: true, path: '/app' },
      { name: '__Host-sid', secure: true, domain: 'example.com' },
      { name: '__Secure-sid', secure: 'auto' as const },
      { partitioned: true },
      { sameSite: 'none' as const },
    ]) {
      expect(() => createSessionManager({ secret: SECRET, cookie })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_COOKIE' }),
      )
    }
    expect(() =>
      createSessionManager({ secret: SECRET, cookie: { name: '__Host-sid', secure: true } }),
    ).not.toThrow()
  })

  it('rejects nonsense timeouts and policies with INVALID_OPTION', () => {
    for (const extra of [
      { idleTimeout: 0 },
      { absoluteTimeout: -1 },
      { rolling: Number.NaN },
      { onStoreError: 'ignore' },
    ]) {
      expect(() => createSessionManager({ secret: SECRET, ...(extra as object) })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
      )
    }
  })
})

describe('T12: hostile Cookie headers through the engine', () => {
  it('T12: a forged session cookie among 1,800 others, sent 50 times, is verified once and answered in the same tick', async () => {
    const backend = defaultBackend()
    const { manager, events, clock } = setup()
    const other = createSessionManager({ secret: `${SECRET}-other`, clock })
    const cycle = other.begin({ cookieHeader: undefined })
    ;((await cycle.load()) as Loose).user = 'eve'
    const forged = (await cycle.commit()).setCookie[0]!.split(';')[0]!
    const junk = Array.from({ length: 1800 }, (_, i) => `c${i}=v${i}`)
    const header = [...junk.slice(0, 900), forged, ...junk.slice(900)].join('; ')
    const verify = vi.spyOn(backend, 'verify')
    const derive = vi.spyOn(backend, 'derive')
    try {
      for (let i = 0; i < 50; i++) {
        const session = manager.begin({ cookieHeader: header }).loadSync()
        expect(session?.isNew).toBe(true)
      }
      expect(verify).toHaveBeenCalledTimes(1)
      expect(derive).toHaveBeenCalledTimes(1)
      expect(events.filter((e) => e.type === 'invalid')).toHaveLength(50)
    } finally {
      vi.restoreAllMocks()
    }
  })
})

describe('weak secrets', () => {
  const weak = [
    'a'.repeat(32),
    'password'.repeat(4),
    '0123456789abcdef'.repeat(2),
    'abababababababababababababababab12',
  ]

  it('a secret that looks chosen rather than random is reported at start, by key id, never by value', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      for (const [i, secret] of weak.entries()) {
        const events: SessionEvent[] = []
        createSessionManager({ secret: { old: SECRET, [`k${i}`]: secret }, onEvent: (e) => events.push(e) })
        expect(events, secret).toEqual([{ type: 'weak-secret', keyId: `k${i}` }])
      }
      const events: SessionEvent[] = []
      createSessionManager({ secret: weak[0]!, onEvent: (e) => events.push(e) })
      expect(events).toEqual([{ type: 'weak-secret', keyId: '' }])
      // One console warning per secret, however many managers use it, and never the secret itself.
      expect(warn).toHaveBeenCalledTimes(weak.length)
      for (const [message] of warn.mock.calls)
        for (const secret of weak) expect(String(message)).not.toContain(secret)
    } finally {
      warn.mockRestore()
    }
  })

  it('random secrets are not reported', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 16, maxLength: 64 }),
          fc.constantFrom('hex', 'base64url'),
          (bytes, encoding) => {
            const secret = Buffer.from(bytes).toString(encoding as BufferEncoding)
            fc.pre(secret.length >= 32)
            const events: SessionEvent[] = []
            createSessionManager({ secret, onEvent: (e) => events.push(e) })
            return events.length === 0
          },
        ),
        { numRuns: 2000, seed: 12 },
      )
      for (const secret of [
        SECRET,
        'correct horse battery staple now',
        'my-super-secret-session-key-2024!',
      ]) {
        const events: SessionEvent[] = []
        createSessionManager({ secret, onEvent: (e) => events.push(e) })
        expect(events, secret).toEqual([])
      }
      expect(warn).not.toHaveBeenCalled()
    } finally {
      warn.mockRestore()
    }
  })
})

describe('C6: Secure by default in production', () => {
  const emitted = async (cookie: SessionOptions['cookie'], secure: boolean) => {
    const manager = createSessionManager({ secret: SECRET, cookie })
    const cycle = manager.begin({ cookieHeader: undefined, secure })
    ;((await cycle.load()) as Loose).set('user', 'ada')
    const [line] = (await cycle.commit()).setCookie
    return / Secure(;|$)/.test(line ?? '')
  }

  it('C6: under NODE_ENV=production the default is Secure, even on a request that looks like plain HTTP', async () => {
    vi.stubEnv('NODE_ENV', 'production')
    try {
      expect(await emitted(undefined, false)).toBe(true)
      expect(await emitted({ name: 'sid' }, false)).toBe(true)
      // A __Host- name needs no explicit `secure: true` there any more.
      expect(await emitted({ name: '__Host-sid' }, false)).toBe(true)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it("C6: an explicit secure: false or 'auto' still wins under NODE_ENV=production", async () => {
    vi.stubEnv('NODE_ENV', 'production')
    try {
      expect(await emitted({ secure: false }, true)).toBe(false)
      expect(await emitted({ secure: 'auto' }, false)).toBe(false)
      expect(await emitted({ secure: 'auto' }, true)).toBe(true)
    } finally {
      vi.unstubAllEnvs()
    }
  })

  it("C6: elsewhere the default is 'auto': Secure follows the request", async () => {
    vi.stubEnv('NODE_ENV', 'development')
    try {
      expect(await emitted(undefined, false)).toBe(false)
      expect(await emitted(undefined, true)).toBe(true)
    } finally {
      vi.unstubAllEnvs()
    }
  })
})

describe('engine', () => {
  it('E1: a request that never loads the session does no work and sends nothing', async () => {
    const { manager } = setup()
    const cycle = manager.begin({ cookieHeader: 'session=garbage' })
    expect(cycle.loaded).toBe(false)
    expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
  })

  it('L8: parallel load() calls return the same session object', async () => {
    const { manager } = setup()
    const cycle = manager.begin({ cookieHeader: undefined })
    const [a, b, c] = await Promise.all([cycle.load(), cycle.load(), cycle.load()])
    expect(a).toBe(b)
    expect(b).toBe(c)
  })

  it('L8: parallel load() calls with a cookie return one session object, on the asynchronous path too', async () => {
    for (const extra of [{}, { store: memoryStore() }]) {
      const { manager, request } = setup(extra)
      const { next } = await request(undefined, (s) => {
        s.user = 'ada'
      })
      const cycle = manager.begin({ cookieHeader: next })
      const [a, b, c] = await Promise.all([cycle.load(), cycle.load(), cycle.load()])
      expect(a.isNew).toBe(false)
      expect((a as Loose).get('user')).toBe('ada')
      expect(a).toBe(b)
      expect(b).toBe(c)
      expect(cycle.session).toBe(a)
      expect(await cycle.load()).toBe(a)
    }
  })

  it('C4: session ids carry 144 random bits and never repeat', async () => {
    const { manager } = setup()
    const ids = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const session = await manager.begin({ cookieHeader: undefined }).load()
      expect(isSessionId(session.id)).toBe(true)
      ids.add(session.id)
    }
    expect(ids.size).toBe(2000)
    const bytes = Buffer.from([...ids][0] ?? '', 'base64url')
    expect(bytes.length * 8).toBeGreaterThanOrEqual(128)
  })

  it('E11: modified tracking compares what would be saved, for any JSON data', async () => {
    const { request } = setup()
    const json = fc.dictionary(
      fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !RESERVED_KEYS.has(k)),
      fc.jsonValue({ maxDepth: 3 }),
      { minKeys: 1, maxKeys: 5 },
    )
    await fc.assert(
      fc.asyncProperty(json, async (data) => {
        const first = await request(undefined, (s) => Object.assign(s, structuredClone(data)))
        expect(first.setCookie).toHaveLength(1)
        // The same values written again: no change, no cookie.
        const same = await request(first.next, (s) => Object.assign(s, JSON.parse(JSON.stringify(data))))
        expect(same.setCookie).toEqual([])
        // A nested change anywhere is one.
        const changed = await request(first.next, (s) => {
          const key = Object.keys(data)[0] as string
          s[key] = { wrapped: s[key] ?? null }
        })
        expect(changed.setCookie).toHaveLength(1)
      }),
      { numRuns: 60 },
    )
  })

  it('T7: data keys cannot shadow the API and __proto__ pollutes nothing', async () => {
    const { request } = setup()
    const { next } = await request(undefined, (s) => {
      expect(() => {
        s.save = 1
      }).toThrow(expect.objectContaining({ code: 'ERR_SESSION_RESERVED_KEY' }))
      expect(() => (s as Loose).set('destroy', 1)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_RESERVED_KEY' }),
      )
      Object.assign(
        s,
        JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"ok":1}'),
      )
    })
    const { session } = await request(next)
    expect(typeof session.save).toBe('function')
    expect((session as Loose).get('__proto__')).toEqual({ polluted: 1 })
    expect(({} as Loose).polluted).toBeUndefined()
    expect(Object.keys(session).sort()).toEqual(['__proto__', 'constructor', 'ok'])
  })

  it('T6: a valid seal whose payload has the wrong shape is no session', async () => {
    const { request, events, clock } = setup()
    const sealer = createSealer(SECRET)
    const exp = clock() + 60_000
    const good = await request(undefined, (s) => {
      s.a = 1
    })
    const id = good.session.id
    const payloads: unknown[] = [
      [1, 2],
      null,
      'string',
      { v: 1, id, n: 'session', c: clock(), r: clock() },
      { v: 3, id, n: 'session', c: clock(), r: clock(), d: {} },
      { v: 2, id, n: 'session', c: clock(), r: 0, d: {} }, // version 2 names the id `i`
      { v: 1, id: 'short', n: 'session', c: clock(), r: clock(), d: {} },
      { v: 1, id, n: 'other', c: clock(), r: clock(), d: {} },
      { v: 1, id, n: 'session', c: 'x', r: clock(), d: {} },
      { v: 1, id, n: 'session', c: clock(), r: clock() - 1, d: {} },
      { v: 1, id, n: 'session', c: clock(), r: clock(), d: [1] },
    ]
    for (const payload of payloads) {
      const token = await sealer.seal(payload, exp)
      const { session } = await request(`session=${token}`)
      expect(session.isNew, JSON.stringify(payload)).toBe(true)
    }
    expect(events.filter((e) => e.type === 'invalid' && e.reason === 'bad-payload')).toHaveLength(
      payloads.length,
    )
  })

  it('X4: a token without an iron expiry, or one beyond the configured lifetime, is no session', async () => {
    const { request, events, clock } = setup({ absoluteTimeout: 3600 })
    const payload = { v: 1, id: 'A'.repeat(24), n: 'session', c: clock(), r: clock(), d: { a: 1 } }
    const noExpiry = await ironSeal(payload, SECRET, {
      ...ironDefaults,
      ttl: 0,
      localtimeOffsetMsec: clock() - Date.now(),
    })
    expect((await request(`session=${noExpiry}`)).session.isNew).toBe(true)
    const tooLong = await createSealer(SECRET).seal(payload, clock() + 3601_000)
    expect((await request(`session=${tooLong}`)).session.isNew).toBe(true)
    const fine = await createSealer(SECRET).seal(payload, clock() + 3000_000)
    expect((await request(`session=${fine}`)).session.isNew).toBe(false)
    expect(events.filter((e) => e.type === 'invalid' && e.reason === 'bad-expiry')).toHaveLength(2)
  })

  it('L4: writes after destroy() do not resurrect the session', async () => {
    const { request } = setup()
    const { next } = await request(undefined, (s) => {
      s.user = 'ada'
    })
    const destroyed = await request(next, async (s) => {
      await s.destroy()
      s.user = 'mallory'
    })
    expect(destroyed.setCookie).toHaveLength(1)
    expect(destroyed.setCookie[0]).toMatch(/^session=; .*Max-Age=0/)
  })

  it('regenerate, destroy and save take Node-style callbacks (Passport calls them so)', async () => {
    const { request } = setup({ store: memoryStore() })
    await request(undefined, async (s) => {
      s.user = 'ada'
      await new Promise<void>((resolve, reject) => s.save((err?: unknown) => (err ? reject(err) : resolve())))
      const before = s.id
      await new Promise<void>((resolve, reject) =>
        s.regenerate((err?: unknown) => (err ? reject(err) : resolve())),
      )
      expect(s.id).not.toBe(before)
      await new Promise<void>((resolve, reject) =>
        s.destroy((err?: unknown) => (err ? reject(err) : resolve())),
      )
    })
  })

  it('NOT_SERIALIZABLE: data JSON cannot carry is a clear error at commit', async () => {
    const { manager } = setup()
    const cycle = manager.begin({ cookieHeader: undefined })
    const session = (await cycle.load()) as Loose
    session.n = 10n
    await expect(cycle.commit()).rejects.toMatchObject({ code: 'ERR_SESSION_NOT_SERIALIZABLE' })
  })

  it('C3: a session too large for the cookie chunks is refused with TOO_LARGE', async () => {
    const { manager, events } = setup()
    const cycle = manager.begin({ cookieHeader: undefined })
    const session = (await cycle.load()) as Loose
    session.big = 'x'.repeat(9000)
    await expect(cycle.commit()).rejects.toMatchObject({ code: 'ERR_SESSION_TOO_LARGE' })
    expect(events).toContainEqual({ type: 'commit-error', code: 'ERR_SESSION_TOO_LARGE' })
  })
})

describe('server store', () => {
  it('S4: parallel requests writing different keys of one session all persist', async () => {
    const store = memoryStore()
    const { request } = setup({ store })
    const { next } = await request(undefined, (s) => {
      s.user = 'ada'
    })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(next, (s) => {
          s[`k${i}`] = i
        }),
      ),
    )
    const { session } = await request(next)
    const data = session.toJSON() as Record<string, unknown>
    for (let i = 0; i < 20; i++) expect(data[`k${i}`]).toBe(i)
    expect(data.user).toBe('ada')
  })

  it('S4: a conflicting request re-applies only its own changes, including deletes', async () => {
    const store = memoryStore()
    const { request, manager } = setup({ store })
    const { next } = await request(undefined, (s) => {
      s.a = 1
      s.b = 1
    })
    const slow = manager.begin({ cookieHeader: next })
    const slowSession = (await slow.load()) as Loose
    await request(next, (s) => {
      s.a = 2
    })
    delete slowSession.b
    await slow.commit()
    const data = (await request(next)).session.toJSON()
    expect(data).toEqual({ a: 2 })
  })

  it('S7: a store failure on load makes the session throw 503 when touched, not before', async () => {
    const inner = memoryStore()
    let failing = false
    const store = {
      ...inner,
      peek: undefined,
      get: (id: string) => (failing ? Promise.reject(new Error('down')) : inner.get(id)),
      set: inner.set,
      delete: inner.delete,
    }
    const { request, manager, events } = setup({ store })
    const { next } = await request(undefined, (s) => {
      s.user = 'ada'
    })
    failing = true
    const cycle = manager.begin({ cookieHeader: next })
    const session = (await cycle.load()) as Loose
    expect(() => session.user).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_STORE_UNAVAILABLE', status: 503 }),
    )
    expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
    expect(events.some((e) => e.type === 'store-error')).toBe(true)
  })
})

describe('L10: assigning null to the exposed session (the logout idiom)', () => {
  const signedIn = async (extra: Partial<SessionOptions>) => {
    const clock = createTestClock()
    const t = setup({ clock, ...extra })
    const login = await t.request(undefined, (s) => {
      s.user = 'ada'
    })
    return { ...t, login }
  }

  it('L10: assign(null) ends a cookie-store session as destroy() does: one clearing Set-Cookie', async () => {
    const { manager, login } = await signedIn({})
    for (const value of [null, undefined]) {
      const cycle = manager.begin({ cookieHeader: login.next })
      const session = (await cycle.load()) as Loose
      cycle.assign(value)
      expect(session.isNew).toBe(true)
      expect(session.toJSON()).toEqual({})
      const { setCookie } = cycle.commitSync() ?? (await cycle.commit())
      expect(setCookie).toHaveLength(1)
      expect(setCookie[0]).toMatch(/^session=;.*Max-Age=0/)
    }
  })

  it('L10: with a server store the record is deleted by the commit, so every copy ends', async () => {
    const store = memoryStore()
    const { manager, login, request } = await signedIn({ store })
    const cycle = manager.begin({ cookieHeader: login.next })
    await cycle.load()
    cycle.assign(null)
    expect(await store.get(login.session.id)).toBeDefined()
    expect((await cycle.commit()).setCookie[0]).toMatch(/^session=;/)
    expect(await store.get(login.session.id)).toBeUndefined()
    expect((await request(login.next)).session.isNew).toBe(true)
  })

  it('L10: with revocations the commit revokes the id, so a copy of the cookie ends too', async () => {
    const { manager, login, request } = await signedIn({ revocations: memoryRevocations() })
    const cycle = manager.begin({ cookieHeader: login.next })
    await cycle.load()
    expect(cycle.syncCommit).toBe(false)
    cycle.assign(null)
    // The revocation must be written before anything is sent: no synchronous answer.
    expect(cycle.commitSync()).toBeUndefined()
    expect((await cycle.commit()).setCookie[0]).toMatch(/^session=;/)
    expect((await request(login.next)).session.isNew).toBe(true)
  })

  it('L10: a revocation the commit cannot write fails the commit, and nothing is cleared', async () => {
    const { manager, login } = await signedIn({
      revocations: {
        get: async (subjects) => subjects.map(() => undefined),
        set: async () => {
          throw new Error('down')
        },
      },
    })
    const cycle = manager.begin({ cookieHeader: login.next })
    await cycle.load()
    cycle.assign(null)
    await expect(cycle.commit()).rejects.toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE' })
  })

  it('L10: the session itself changes nothing; any other value is a clear error, never silence', async () => {
    const { manager, login } = await signedIn({})
    const cycle = manager.begin({ cookieHeader: login.next })
    expect(() => cycle.assign(null)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_INVALID_STATE' }))
    const session = (await cycle.load()) as Loose
    cycle.assign(session)
    for (const value of [{}, { user: 'eve' }, 'logout', 0, false]) {
      expect(() => cycle.assign(value), String(value)).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_STATE' }),
      )
    }
    expect(session.get('user')).toBe('ada')
    expect((cycle.commitSync() ?? (await cycle.commit())).setCookie).toEqual([])
  })
})

describe('log out everywhere', () => {
  it('S6: a server store lists and ends exactly one user’s sessions', async () => {
    const store = memoryStore()
    const { request, manager } = setup({ store })
    const login = (user: string) =>
      request(undefined, (s) => {
        s.name = user
        ;(s as Loose).bindUser(user)
      })
    const [a, b, c] = [await login('u1'), await login('u1'), await login('u2')]
    expect((await manager.listUserSessions('u1')).sort()).toEqual([a.session.id, b.session.id].sort())
    await manager.endUserSessions('u1')
    expect((await request(a.next)).session.isNew).toBe(true)
    expect((await request(b.next)).session.isNew).toBe(true)
    expect((await request(c.next)).session.toJSON()).toEqual({ name: 'u2' })
    expect(await manager.listUserSessions('u1')).toEqual([])
  })

  it('K6: with the cookie store, a per-user "not before" time ends every earlier cookie of that user', async () => {
    const clock = createTestClock()
    const { request, manager, events } = setup({ clock, revocations: memoryRevocations({ clock }) })
    const login = (user: string) =>
      request(undefined, (s) => {
        ;(s as Loose).bindUser(user)
      })
    const [a, b, other] = [await login('u1'), await login('u1'), await login('u2')]
    clock.advance(1)
    await manager.endUserSessions('u1')
    expect((await request(a.next)).session.isNew).toBe(true)
    expect((await request(b.next)).session.isNew).toBe(true)
    expect(events.filter((e) => e.type === 'revoked')).toHaveLength(2)
    expect((await request(other.next)).session.isNew).toBe(false)
    clock.advance(1)
    const again = await login('u1')
    expect((await request(again.next)).session.isNew).toBe(false)
  })

  /** A memory revocation store that records what the engine asks of it. */
  const recording = (clock: () => number) => {
    const inner = memoryRevocations({ clock })
    const gets: string[][] = []
    const sets: [string, number, number][] = []
    const store: RevocationStore = {
      get: (subjects) => {
        gets.push([...subjects])
        return inner.get(subjects)
      },
      set: (subject, notBefore, ttl) => {
        sets.push([subject, notBefore, ttl])
        return inner.set(subject, notBefore, ttl)
      },
    }
    return { store, gets, sets }
  }

  it('L9: with revocations, destroy() on the cookie store ends every copy of the cookie, until it would have expired', async () => {
    const clock = createTestClock()
    const revocations = recording(clock)
    const { request, events } = setup({ clock, revocations: revocations.store, absoluteTimeout: 7200 })
    const login = await request(undefined, (s) => {
      s.user = 'ada'
    })
    const copy = login.next
    clock.advance(1000)
    const logout = await request(copy, (s) => s.destroy())
    expect(logout.setCookie).toHaveLength(1)
    expect(logout.setCookie[0]).toMatch(/^session=;/)
    // Revoked until the token's absolute limit, and no longer.
    expect(revocations.sets).toEqual([[`s:${login.session.id}`, clock(), 7200 - 1000]])
    const replay = await request(copy)
    expect(replay.session.isNew).toBe(true)
    expect(replay.session.toJSON()).toEqual({})
    expect(events.at(-1)).toEqual({ type: 'revoked', cookie: 'session' })
  })

  it('L9: a logout in the very millisecond of the login still ends the copy', async () => {
    const clock = createTestClock()
    const { request } = setup({ clock, revocations: memoryRevocations({ clock }) })
    const login = await request(undefined, (s) => {
      s.user = 'ada'
    })
    await request(login.next, (s) => s.destroy())
    expect((await request(login.next)).session.isNew).toBe(true)
  })

  it('L5: with revocations, regenerate() on the cookie store ends the old cookie; the new one lives', async () => {
    const clock = createTestClock()
    const { request } = setup({ clock, revocations: memoryRevocations({ clock }) })
    const login = await request(undefined, (s) => {
      s.user = 'ada'
    })
    const renewed = await request(login.next, (s) => s.regenerate({ keep: true }))
    expect((await request(login.next)).session.isNew).toBe(true)
    expect((await request(renewed.next)).session.toJSON()).toEqual({ user: 'ada' })
  })

  it('L9: each cookie-store load asks the revocation store once, for the session and its user together', async () => {
    const clock = createTestClock()
    const revocations = recording(clock)
    const { request } = setup({ clock, revocations: revocations.store })
    const anonymous = await request(undefined, (s) => {
      s.a = 1
    })
    const bound = await request(undefined, (s) => {
      ;(s as Loose).bindUser('u1')
    })
    revocations.gets.length = 0
    await request(anonymous.next)
    await request(bound.next)
    // A request without a cookie asks nothing.
    await request(undefined)
    expect(revocations.gets).toEqual([[`s:${anonymous.session.id}`], [`s:${bound.session.id}`, 'u:u1']])
  })

  it('L9: a revocation that cannot be written fails the logout loudly, and the session is not cleared', async () => {
    const clock = createTestClock()
    const failing = (error: unknown): RevocationStore => ({
      get: async (subjects) => subjects.map(() => undefined),
      set: async () => {
        throw error
      },
    })
    const full = new SessionError('ERR_SESSION_REVOCATIONS_FULL' as never, 'full')
    for (const [error, code] of [
      [new Error('down'), 'ERR_SESSION_STORE_UNAVAILABLE'],
      [full, 'ERR_SESSION_REVOCATIONS_FULL'],
    ] as const) {
      const { manager, request, events } = setup({ clock, revocations: failing(error) })
      const login = await request(undefined, (s) => {
        s.user = 'ada'
      })
      const cycle = manager.begin({ cookieHeader: login.next })
      const session = (await cycle.load()) as Loose
      await expect(session.destroy()).rejects.toMatchObject({ code })
      expect(events).toContainEqual(expect.objectContaining({ type: 'store-error', operation: 'revoke' }))
      // Nothing tells the browser the logout worked: the cookie is not cleared.
      expect((await cycle.commit()).setCookie).toEqual([])
      expect((await request(login.next)).session.toJSON()).toEqual({ user: 'ada' })
    }
  })

  it('without revocations, destroy() on the cookie store clears the browser cookie only, and loads stay synchronous', async () => {
    const { manager, request } = setup()
    const login = await request(undefined, (s) => {
      s.user = 'ada'
    })
    const logout = await request(login.next, (s) => s.destroy())
    expect(logout.setCookie[0]).toMatch(/^session=;.*Max-Age=0/)
    // What the README says: a copy taken before the logout stays valid until it expires.
    expect((await request(login.next)).session.toJSON()).toEqual({ user: 'ada' })
    expect(manager.begin({ cookieHeader: login.next }).loadSync()).toBeDefined()
    const { manager: revoking } = setup({ revocations: memoryRevocations() })
    expect(revoking.begin({ cookieHeader: login.next }).loadSync()).toBeUndefined()
    expect(revoking.begin({ cookieHeader: undefined }).loadSync()).toBeDefined()
  })

  it('UNSUPPORTED: ending a user’s sessions without a way to do it is a clear error', async () => {
    const { manager } = setup()
    await expect(manager.endUserSessions('u1')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' })
    await expect(manager.listUserSessions('u1')).rejects.toMatchObject({ code: 'ERR_SESSION_UNSUPPORTED' })
  })

  it('binding a user is a change that reaches the cookie and the store once', async () => {
    const store = memoryStore()
    const { request } = setup({ store })
    const { next } = await request(undefined, (s) => {
      s.a = 1
    })
    const bound = await request(next, (s) => {
      ;(s as Loose).bindUser('u1')
    })
    expect(bound.setCookie).toHaveLength(1)
    const { session } = await request(bound.next)
    expect(session.boundUser).toBe('u1')
    expect((await store.get(session.id))?.user).toBe('u1')
  })
})
