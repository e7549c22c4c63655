import { Agent } from 'node:http'
import type { SessionEvent, SessionManager } from '@x/session-core'
import { createSealer } from '@x/session-core/internal'
import { createTestClock } from '@x/session-core/testing'
import fc from 'fast-check'
import { beforeEach, describe, expect, it } from 'vitest'
import { Jar, send } from '../client.js'
import { instrument } from '../stores.js'
import type { AdapterHarness, AdapterSuiteOptions } from '../types.js'
import {
  ABSOLUTE,
  described,
  type Fixture,
  IDLE,
  type Mode,
  NAME,
  OTHER_SECRET,
  q,
  SECRET,
  startFixture,
} from './shared.js'

/** Tamper and bad input (T1-T10, and C5 for the cookie): every bad token is no session, never a 500. */
export function defineTamperCases(
  harness: AdapterHarness,
  mode: Mode,
  suiteOptions: AdapterSuiteOptions,
  get: () => Fixture,
): void {
  describe('tamper and bad input', () => {
    let f: Fixture
    beforeEach(() => {
      f = get()
    })

    it('T1: changing any single character of the sealed cookie is no session', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const token = jar.get(NAME) ?? ''
      const positions = new Set<number>([0, token.length - 1])
      for (let i = 0; i < token.length; i += Math.max(1, Math.floor(token.length / 60))) positions.add(i)
      for (let i = 0; i < token.length; i++) {
        if (token[i] === '*') for (const p of [i - 1, i, i + 1]) positions.add(p)
      }
      for (const i of positions) {
        if (i < 0 || i >= token.length) continue
        const swapped = token[i] === 'A' ? 'B' : 'A'
        const bad = token.slice(0, i) + swapped + token.slice(i + 1)
        const reply = await f.get('/read?key=user', `${NAME}=${bad}`)
        expect(reply.status, `position ${i}`).toBe(200)
        expect(reply.json().isNew, `position ${i}`).toBe(true)
      }
    })

    it('T2: non-canonical encodings of a valid token are no session', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const token = jar.get(NAME) ?? ''
      const parts = token.split('*')
      const mac = parts[7] ?? ''
      const last = mac.at(-1) ?? 'A'
      // The MAC is 32 bytes: its last base64url character carries 2 unused bits.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const flipped = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A'
      for (const variant of [`${mac.slice(0, -1)}${flipped}`, `${mac}=`]) {
        const bad = [...parts.slice(0, 7), variant].join('*')
        const reply = await f.get('/read', `${NAME}=${bad}`)
        expect(reply.status).toBe(200)
        expect(reply.json().isNew).toBe(true)
      }
    })

    it('T3: truncated, extended, reordered, empty and odd values are no session', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const token = jar.get(NAME) ?? ''
      const parts = token.split('*')
      const values = [
        token.slice(0, -1),
        token.slice(0, token.length / 2),
        token + 'A'.repeat(10_000 - token.length),
        [parts[0], parts[1], parts[3], parts[2], ...parts.slice(4)].join('*'),
        '',
        '   ',
        '%46e26.2',
        encodeURIComponent(token).replace(/\*/g, '%2A'),
        `"${token}"`,
        'Fe26.2*',
      ]
      for (const value of values) {
        const reply = await f.get('/read', `${NAME}=${value}`)
        expect(reply.status, value.slice(0, 40)).toBe(200)
        expect(reply.json().isNew, value.slice(0, 40)).toBe(true)
      }
    })

    it('T4: a token sealed by another secret or for another cookie name is no session', async () => {
      const other = await startFixture(harness, mode, { secret: OTHER_SECRET })
      try {
        // Same time on both apps, so that the secret is the only reason the token can fail.
        other.clock.set(f.clock())
        const { jar } = await other.login({ user: 'mallory' })
        const seen = f.events.length
        const reply = await f.get('/read', `${NAME}=${jar.get(NAME)}`)
        expect(reply.json().isNew).toBe(true)
        // Only this request's events: earlier cases leave bad-seal events of their own.
        expect(f.events.slice(seen)).toContainEqual({ type: 'invalid', reason: 'bad-seal', cookie: NAME })
      } finally {
        await other.server.close()
      }
      const { jar } = await f.login({ user: 'ada' })
      const adminEvents: SessionEvent[] = []
      const admin = {
        secret: SECRET,
        cookie: { name: 'admin' },
        store: f.store,
        clock: f.clock,
        onEvent: (event: SessionEvent) => adminEvents.push(event),
      }
      const two = await startFixture(harness, mode, {}, [{ property: 'admin', options: admin }])
      try {
        const reply = await two.post('/two?which=admin', `admin=${jar.get(NAME)}`)
        expect(reply.status).toBe(200)
        expect(reply.json().admin).toEqual({})
        // Same secret, same clock: refused only because it was sealed for the other cookie name.
        expect(adminEvents).toEqual([{ type: 'invalid', reason: 'bad-payload', cookie: 'admin' }])
      } finally {
        await two.server.close()
      }
    })

    it('T5: prefixes other than Fe26.2 and oversize cookies are no session', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const token = jar.get(NAME) ?? ''
      const rest = token.slice('Fe26.2'.length)
      for (const prefix of ['Fe26.1', 'fe26.2', 'Fe26.20', 'Fe26.2 ', 'Fe26', 'Fe26.2.', 'XFe26.2']) {
        const reply = await f.get('/read', `${NAME}=${prefix}${rest}`)
        expect(reply.json().isNew, prefix).toBe(true)
      }
      const huge = await f.get('/read', `${NAME}=Fe26.2${'*'.repeat(7)}${'A'.repeat(12_000)}`)
      expect(huge.status).toBe(200)
      expect(huge.json().isNew).toBe(true)
    })

    it('T6: a valid seal whose payload has the wrong shape is no session', async () => {
      const { jar } = await f.login({ user: 'ada' })
      // Seals made with the app's own secret, so that only their payload can be wrong.
      const sealer = createSealer(SECRET, { cacheSize: 0 })
      const opened = await sealer.unseal(jar.get(NAME) ?? '', f.clock(), ABSOLUTE * 1000)
      if (!opened.ok) throw new Error(`the suite could not open the app's own seal: ${opened.reason}`)
      const valid = opened.payload as Record<string, unknown>
      const reseal = (payload: unknown) => sealer.seal(payload, f.clock() + IDLE * 1000)
      // The same payload sealed again is a session: the sealing is right, so each refusal below is the shape's.
      expect((await f.get('/read?key=user', `${NAME}=${await reseal(valid)}`)).json()).toMatchObject({
        isNew: false,
        value: 'ada',
      })
      const wrong: [string, unknown][] = [
        ['an array', [valid]],
        ['null', null],
        ['a string', 'session'],
        ['a number', 1],
        ['an empty object', {}],
        ['an unknown version', { ...valid, v: 999 }],
      ]
      for (const key of Object.keys(valid)) {
        const { [key]: _dropped, ...rest } = valid
        wrong.push([`no ${key}`, rest])
        const value = valid[key]
        wrong.push([`${key} of another type`, { ...valid, [key]: typeof value === 'string' ? 1 : 'x' }])
      }
      for (const [what, payload] of wrong) {
        const reply = await f.get('/read?key=user', `${NAME}=${await reseal(payload)}`)
        expect(reply.status, what).toBe(200)
        expect(reply.json(), what).toMatchObject({ isNew: true, has: false })
      }
    })

    it('T7: __proto__ and constructor keys pollute nothing', async () => {
      const payload = JSON.parse(
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      )
      const reply = await f.post(q('/write', { set: payload }))
      expect(reply.status).toBe(200)
      const next = await f.get('/read', new Jar().apply(reply))
      expect(next.status).toBe(200)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty('polluted')
      const cookieNames = await f.get('/read', '__proto__=x; constructor=y; toString=z; hasOwnProperty=1')
      expect(cookieNames.status).toBe(200)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })

    // Its own timeout, from the number of runs: a loaded CI machine takes seconds for 1000
    // requests, more than vitest's default 5 s. Bounded all the same, so a hang still fails.
    const fuzzRuns = suiteOptions.fuzzRuns ?? 1000
    it('T8: a fuzzed Cookie header never yields a 500', { timeout: 10_000 + fuzzRuns * 50 }, async () => {
      const { jar } = await f.login({ user: 'ada' })
      const token = jar.get(NAME) ?? ''
      const headerChar = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))
      const headerText = fc.string({ unit: headerChar, maxLength: 300 })
      const mutatedToken = fc
        .tuple(fc.nat({ max: Math.max(0, token.length - 1) }), headerText)
        .map(([at, insert]) => `${NAME}=${token.slice(0, at)}${insert}${token.slice(at + 1)}`)
      const header = fc.oneof(
        headerText,
        headerText.map((v) => `${NAME}=${v}`),
        mutatedToken,
        fc
          .array(fc.oneof(headerText, mutatedToken), { minLength: 1, maxLength: 4 })
          .map((parts) => parts.join('; ')),
      )
      // One kept-alive connection: a thousand TCP handshakes would cost more than the requests.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      try {
        await fc.assert(
          fc.asyncProperty(header, async (text) => {
            const cookie = text.trim() === '' ? undefined : text
            const reply = await send(`${f.server.url}/read`, { cookie, agent })
            expect(reply.status).toBe(200)
          }),
          { numRuns: fuzzRuns },
        )
      } finally {
        agent.destroy()
      }
    })

    it('T9: duplicates resolve deterministically, split headers are read, names match exactly', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const valid = `${NAME}=${jar.get(NAME)}`
      expect((await f.get('/read', `${valid}; ${NAME}=garbage`)).json().isNew).toBe(false)
      expect((await f.get('/read', `${NAME}=garbage; ${valid}`)).json().isNew).toBe(true)
      expect((await f.get('/read', ['other=1', valid])).json().isNew).toBe(false)
      expect((await f.get('/read', `${NAME.toUpperCase()}=${jar.get(NAME)}`)).json().isNew).toBe(true)
    })

    it('C5: a token in the query string is never read', async () => {
      const { jar } = await f.login({ user: 'ada' })
      const reply = await f.get(`/read?key=user&${NAME}=${encodeURIComponent(jar.get(NAME) ?? '')}`)
      expect(reply.json()).toMatchObject({ isNew: true, has: false })
    })

    it('T10: events and errors never contain a cookie value, a session id or a secret', async () => {
      // Its own app with a small cookie budget (a commit that fails), its manager (thrown errors),
      // and a store whose clock stands still, so the engine meets an expired record itself.
      const store = mode.store ? instrument(await mode.store.create(createTestClock())) : undefined
      const app = await startFixture(harness, mode, { store, cookie: { maxTotalSize: 1000 } }, [], true)
      const manager = app.manager as unknown as SessionManager<Record<string, unknown>>
      const thrown: unknown[] = []
      const tokens: string[] = []
      const ids: string[] = []
      const login = async (data: Record<string, unknown>) => {
        const session = await app.login(data)
        tokens.push(app.token(session.jar) ?? '')
        ids.push(session.id)
        return session
      }
      try {
        const a = await login({ user: 'ada' })
        await app.get('/read', `${NAME}=${app.token(a.jar)}x`)
        app.clock.advance(IDLE + 1)
        await app.get('/read', a.jar)
        const b = await login({ user: 'bob' })
        // A framework that answers a thrown error with its own 500 declares it (thrownErrors).
        const expectUnavailable = (status: number) =>
          harness.unsupported?.thrownErrors === undefined
            ? expect(status).toBe(503)
            : expect(status).toBeGreaterThanOrEqual(500)
        if (store) {
          // Two requests loaded from one version: the second to save meets a conflict.
          const inA = app.gate.arm('a')
          const inB = app.gate.arm('b')
          const first = app.post(q('/write', { gate: 'a', set: { x: 1 } }), b.jar)
          const second = app.post(q('/write', { gate: 'b', set: { y: 1 } }), b.jar)
          await Promise.all([inA, inB])
          app.gate.open('a')
          expect((await first).status).toBe(200)
          app.gate.open('b')
          expect((await second).status).toBe(200)
          // A save that fails after the load: the commit fails.
          const inC = app.gate.arm('c')
          const failing = app.post(q('/write', { gate: 'c', set: { z: 1 } }), b.jar)
          await inC
          store.failing = true
          app.gate.open('c')
          expectUnavailable((await failing).status)
          // A load that fails, and the errors the session then throws.
          expectUnavailable((await app.get('/read', b.jar)).status)
          const cycle = manager.begin({ cookieHeader: b.jar.header() })
          const session = await cycle.load()
          try {
            session.user = 'mallory'
          } catch (error) {
            thrown.push(error)
          }
          await cycle.commit().catch((error: unknown) => thrown.push(error))
          store.failing = false
        } else {
          // A session too big for its cookies: the commit fails.
          const big = Array.from({ length: 300 }, (_, i) => `${i}:${Math.random()}`).join('')
          expect((await app.post(q('/write', { set: { big } }), b.jar)).status).toBe(500)
          const cycle = manager.begin({ cookieHeader: b.jar.header() })
          const session = await cycle.load()
          session.big = big
          await cycle.commit().catch((error: unknown) => thrown.push(error))
        }
        const seen = new Set(app.events.map((event) => event.type))
        // A store that merges change sets itself (`apply`) never conflicts: only the others report one.
        const conflicts = store !== undefined && store.apply === undefined
        const expected = [
          'invalid',
          'expired',
          'commit-error',
          ...(store ? ['store-error'] : []),
          ...(conflicts ? ['conflict'] : []),
        ]
        for (const type of expected) expect(seen, type).toContain(type)
        expect(thrown.length).toBeGreaterThan(0)
        const text = JSON.stringify([app.events, thrown], (_key, value) =>
          value instanceof Error ? described(value) : value,
        )
        for (const token of tokens) expect(text).not.toContain(token)
        for (const id of ids) expect(text).not.toContain(id)
        expect(text).not.toContain(SECRET)
      } finally {
        await app.server.close()
      }
    })
  })
}
