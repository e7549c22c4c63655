import Iron from '@hapi/iron'
import { describe, expect, it } from 'vitest'
import { main } from '../src/cli.js'
import { createSessionManager, inspectSession, memoryStore, type SessionOptions } from '../src/index.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

const SECRET = 'inspect-test-secret-0123456789-abcdefghij'
const OTHER = 'another-secret-entirely-0123456789-abcdef'
const HOUR = 3600

/** A cookie as an app with `options` sends it after `write` ran on a new session. */
async function cookieOf(options: Partial<SessionOptions>, write: (session: Loose) => void) {
  const clock = createTestClock()
  const manager = createSessionManager({ secret: SECRET, clock, ...options })
  const cycle = manager.begin({ cookieHeader: undefined })
  const session = (await cycle.load()) as Loose
  write(session)
  const { setCookie } = await cycle.commit()
  const header = setCookie.map((line) => line.split(';')[0]).join('; ')
  return { header, clock, id: session.id as string, createdAt: (session.createdAt as Date).getTime() }
}

describe('inspectSession', () => {
  it('opens a cookie-store cookie: key id, id, times, user and data', async () => {
    const { header, clock, id, createdAt } = await cookieOf({ secret: { k1: OTHER, k2: SECRET } }, (s) => {
      s.cart = [1, 2]
      s.bindUser('ada')
    })
    const result = await inspectSession(header, { secret: { k1: OTHER, k2: SECRET }, now: clock() })
    expect(result).toEqual({
      ok: true,
      keyId: 'k2',
      payloadVersion: 2,
      id,
      createdAt,
      refreshedAt: createdAt,
      expiresAt: createdAt + 7 * 24 * HOUR * 1000,
      tokenExpiresAt: createdAt + 7 * 24 * HOUR * 1000,
      user: 'ada',
      data: { cart: [1, 2] },
      serverStore: false,
    })
  })

  it('reads the raw token, and a cookie split into chunks', async () => {
    const big = 'x'.repeat(5000)
    const { header, clock } = await cookieOf({ cookie: { maxChunks: 3 } }, (s) => {
      s.big = big
    })
    expect(header).toMatch(/^session\.0=.*; session\.1=/)
    const chunked = await inspectSession(header, { secret: SECRET, now: clock(), maxChunks: 3 })
    expect(chunked).toMatchObject({ ok: true, data: { big } })
    const { header: plain } = await cookieOf({}, (s) => {
      s.n = 1
    })
    const token = plain.slice('session='.length)
    expect(await inspectSession(token, { secret: SECRET, now: clock() })).toMatchObject({
      ok: true,
      data: { n: 1 },
    })
  })

  it('says a server-store token names the session only', async () => {
    const { header, clock, id } = await cookieOf({ store: memoryStore() }, (s) => {
      s.n = 1
    })
    const result = await inspectSession(header, { secret: SECRET, now: clock() })
    expect(result).toMatchObject({ ok: true, id, serverStore: true })
    expect(result).not.toHaveProperty('data')
  })

  it('gives the exact reason a cookie is no session', async () => {
    const { header, clock } = await cookieOf({ secret: { k2: SECRET } }, (s) => {
      s.n = 1
    })
    const now = clock()
    // Sealed to end within the hour, so an app with a 40-minute absolute limit accepts its expiry.
    const short = await cookieOf({ idleTimeout: HOUR }, (s) => {
      s.n = 1
    })
    const token = header.slice('session='.length)
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`
    const cases: Array<[string, Parameters<typeof inspectSession>[1], string]> = [
      ['other=1', { secret: { k2: SECRET }, now }, 'no-cookie'],
      ['session=abc', { secret: { k2: SECRET }, now }, 'malformed'],
      [flipped, { secret: { k2: SECRET }, now }, 'bad-seal'],
      [header, { secret: { k2: OTHER }, now }, 'bad-seal'],
      [header, { secret: { k9: SECRET }, now }, 'unknown-key'],
      [header, { secret: { k2: SECRET }, now, cookieName: 'other' }, 'no-cookie'],
      [token, { secret: { k2: SECRET }, now, cookieName: 'other' }, 'bad-payload'],
      [header, { secret: { k2: SECRET }, now: now + 8 * 24 * HOUR * 1000 }, 'expired-lifetime'],
      [header, { secret: { k2: SECRET }, now: now + 2 * HOUR * 1000, idleTimeout: HOUR }, 'expired-idle'],
      [
        short.header,
        { secret: SECRET, now: now + 50 * 60_000, absoluteTimeout: 40 * 60, idleTimeout: HOUR },
        'expired-absolute',
      ],
    ]
    for (const [input, options, reason] of cases) {
      expect([input.slice(0, 12), await inspectSession(input, options)]).toMatchObject([
        input.slice(0, 12),
        { ok: false, reason },
      ])
    }
  })

  it('documented interop: @hapi/iron opens the cookie with the secret as its password', async () => {
    const { header, id, createdAt } = await cookieOf({ secret: { k1: OTHER, k2: SECRET } }, (s) => {
      s.n = 1
    })
    const token = header.slice('session='.length)
    // As the core README shows: the key map is iron's password map, the payload's fields as listed.
    const payload = await Iron.unseal(token, { k1: OTHER, k2: SECRET }, Iron.defaults)
    expect(payload).toEqual({ v: 2, i: id, c: createdAt, r: 0, d: { n: 1 } })
  })
})

describe('the x-session CLI', () => {
  const run = async (argv: string[], env: Record<string, string> = {}, stdin = '') => {
    const out: string[] = []
    const err: string[] = []
    const code = await main(argv, {
      env,
      stdin: () => stdin,
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    })
    return { code, out: out.join('\n'), err: err.join('\n') }
  }

  it('secret prints 256 random bits, a new one each time, usable as a secret', async () => {
    const [a, b] = [await run(['secret']), await run(['secret'])]
    expect(a.code).toBe(0)
    expect(a.out).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a.out).not.toBe(b.out)
    expect(() => createSessionManager({ secret: a.out })).not.toThrow()
  })

  it('decode reads the argument or stdin, with the secret from SESSION_SECRET, never echoing it', async () => {
    const { header } = await cookieOf({}, (s) => {
      s.name = 'ada'
    })
    const env = { SESSION_SECRET: SECRET }
    const fromArg = await run(['decode', header, '--json', '--absolute-timeout', String(1e9)], env)
    expect(fromArg.code).toBe(0)
    expect(JSON.parse(fromArg.out)).toMatchObject({ ok: true, data: { name: 'ada' } })
    const fromStdin = await run(
      ['decode', '--absolute-timeout', String(1e9), '--idle-timeout', String(1e9)],
      env,
      header,
    )
    expect(fromStdin.code).toBe(0)
    expect(fromStdin.out).toContain('"name": "ada"')
    for (const output of [fromArg, fromStdin]) expect(output.out + output.err).not.toContain(SECRET)
  })

  it('decode says why a cookie is no session (exit 1), and usage errors exit 2 without the secret', async () => {
    const env = { SESSION_SECRET: SECRET }
    const bad = await run(['decode', 'session=abc'], env)
    expect(bad).toMatchObject({ code: 1, out: 'no session: malformed' })
    const keyed = await run(['decode', 'session=abc'], { SESSION_SECRET: JSON.stringify({ k1: SECRET }) })
    expect(keyed.code).toBe(1)
    expect((await run(['decode', 'x'])).code).toBe(2)
    const short = await run(['decode', 'x'], { SESSION_SECRET: 'zq-tiny-pw' })
    expect(short.code).toBe(2)
    expect(short.err).not.toContain('zq-tiny-pw')
    expect((await run(['decode', 'x', '--idle-timeout', 'soon'], env)).code).toBe(2)
    expect((await run(['nonsense'])).code).toBe(2)
    expect((await run([])).code).toBe(2)
  })
})
