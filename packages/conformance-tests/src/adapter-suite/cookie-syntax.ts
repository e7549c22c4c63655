import { beforeEach, describe, expect, it } from 'vitest'
import { Jar, parseSetCookie, type Reply, send } from '../client.js'
import type { AdapterHarness } from '../types.js'
import {
  ABSOLUTE,
  type Fixture,
  IDLE,
  type Mode,
  NAME,
  names,
  q,
  sessionCookies,
  startFixture,
} from './shared.js'

/** C3: chunking a session too big for one cookie. */
export function defineChunkingCases(mode: Mode, get: () => Fixture): void {
  const serverSide = mode.store !== undefined
  describe('chunking', () => {
    let f: Fixture
    beforeEach(() => {
      f = get()
    })

    it('C3: a session over 4096 bytes is split into chunks that read back whole, and stale chunks are cleared', async () => {
      const big = 'x'.repeat(serverSide ? 100 : 4500)
      const reply = await f.post(q('/write', { set: { big } }))
      expect(reply.status).toBe(200)
      for (const header of reply.setCookie) {
        const { name, value } = parseSetCookie(header)
        expect(name.length + value.length).toBeLessThanOrEqual(4096)
      }
      const jar = new Jar().apply(reply)
      expect((await f.get('/read?key=big', jar)).json().value).toBe(big)
      if (serverSide) return
      expect(names(reply)).toEqual([`${NAME}.0`, `${NAME}.1`])
      const shrink = await f.post(q('/write', { set: { big: 'small' } }), jar)
      const cleared = shrink.setCookie.map(parseSetCookie)
      expect(cleared.map((c) => c.name).sort()).toEqual([NAME, `${NAME}.0`, `${NAME}.1`])
      jar.apply(shrink)
      expect([...jar.cookies.keys()]).toEqual([NAME])
      expect((await f.get('/read?key=big', jar)).json().value).toBe('small')
    })
  })
}

/** Cookie attributes: C6 (`secure: 'auto'`) and E9 (exact attributes and lifetimes). */
export function defineAttributeCases(harness: AdapterHarness, mode: Mode): void {
  describe('attributes', () => {
    const secureOf = (reply: Reply) => parseSetCookie(sessionCookies(reply)[0] ?? '').attributes.has('secure')

    it("C6: with secure: 'auto', a plain HTTP request gets no Secure attribute", async () => {
      const app = await startFixture(harness, mode, { cookie: { secure: 'auto' } })
      try {
        const reply = await app.post(q('/write', { set: { n: 1 } }))
        expect(sessionCookies(reply)).toHaveLength(1)
        expect(secureOf(reply)).toBe(false)
        const cleared = await app.post('/destroy', new Jar().apply(reply))
        expect(sessionCookies(cleared)).toHaveLength(1)
        expect(secureOf(cleared)).toBe(false)
      } finally {
        await app.server.close()
      }
    })

    it("C6: with secure: 'auto', a request the framework reports as secure gets Secure", async () => {
      const how = harness.secureRequest
      if (!how) {
        expect.fail(
          `${harness.name} declares no secureRequest, so the suite cannot make a secure request: give the harness { secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } } } and make the app it starts trust that proxy`,
        )
      }
      const app = await startFixture(harness, mode, { cookie: { secure: 'auto' } })
      try {
        const secure = (path: string, jar = new Jar()) =>
          send(app.server.url + path, {
            method: 'POST',
            headers: { ...how.headers, ...jar.requestHeaders() },
          })
        const reply = await secure(q('/write', { set: { n: 1 } }))
        expect(sessionCookies(reply)).toHaveLength(1)
        expect(secureOf(reply), `a request with ${JSON.stringify(how.headers)} must count as secure`).toBe(
          true,
        )
        const jar = new Jar().apply(reply)
        const cleared = await secure('/destroy', jar)
        expect(sessionCookies(cleared)).toHaveLength(1)
        expect(secureOf(cleared)).toBe(true)
      } finally {
        await app.server.close()
      }
    })

    // A framework that recomputes Expires from Max-Age on its own clock declares it (types.ts).
    const exactExpires = harness.unsupported?.sessionClockExpires === undefined
    it(`E9: attributes are exact, Max-Age is whole seconds within the remaining lifetime and 400 days${exactExpires ? '' : ` (Expires not checked: ${harness.unsupported?.sessionClockExpires})`}`, async () => {
      const app = await startFixture(harness, mode, {
        cookie: {
          name: 'sid',
          path: '/',
          domain: 'example.test',
          sameSite: 'strict',
          secure: true,
          httpOnly: true,
        },
      })
      try {
        const reply = await app.post(q('/write', { set: { n: 1 } }))
        const [header] = reply.setCookie
        const cookie = parseSetCookie(header ?? '')
        expect(cookie.name).toBe('sid')
        expect(cookie.attributes.get('path')).toBe('/')
        expect(cookie.attributes.get('domain')).toBe('example.test')
        expect(cookie.attributes.get('samesite')).toBe('Strict')
        expect(cookie.attributes.get('secure')).toBe(true)
        expect(cookie.attributes.get('httponly')).toBe(true)
        expect(cookie.attributes.get('max-age')).toBe(String(IDLE))
        if (exactExpires) {
          expect(Date.parse(String(cookie.attributes.get('expires')))).toBe(app.clock() + IDLE * 1000)
        }
        // Near the absolute limit, Max-Age is what remains of it.
        const jar = new Jar().apply(reply)
        app.clock.advance(IDLE - 100)
        jar.apply(await app.post(q('/write', { set: { n: 2 } }), jar))
        app.clock.advance(IDLE - 100)
        const late = await app.post(q('/write', { set: { n: 3 } }), jar)
        const lateCookie = parseSetCookie(late.setCookie[0] ?? '')
        expect(Number(lateCookie.attributes.get('max-age'))).toBe(ABSOLUTE - 2 * (IDLE - 100))
        if (exactExpires) {
          expect(Date.parse(String(lateCookie.attributes.get('expires')))).toBe(
            app.clock() + Number(lateCookie.attributes.get('max-age')) * 1000,
          )
        }
      } finally {
        await app.server.close()
      }
      const long = await startFixture(harness, mode, {
        idleTimeout: 500 * 86_400,
        absoluteTimeout: 600 * 86_400,
      })
      try {
        const reply = await long.post(q('/write', { set: { n: 1 } }))
        expect(parseSetCookie(reply.setCookie[0] ?? '').attributes.get('max-age')).toBe(String(400 * 86_400))
      } finally {
        await long.server.close()
      }
    })
  })
}
