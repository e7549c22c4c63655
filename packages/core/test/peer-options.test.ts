import { describe, expect, it } from 'vitest'
import { createSessionManager, memoryStore, resolveManager, type SessionOptions } from '../src/index.js'
import { hintFor } from '../src/internal/unknown-options.js'

const secret = 'x'.repeat(16) + 'y'.repeat(16)

function refused(options: Record<string, unknown>) {
  try {
    createSessionManager({ secret, ...options } as SessionOptions)
  } catch (error) {
    return error as { code: string; message: string }
  }
  return undefined
}

describe('options from other session libraries', () => {
  // The habitual configuration of each peer, with the option this library reads instead.
  it.each([
    ['express-session', { name: 'sid' }, 'name', false, 'cookie: { name }'],
    ['express-session', { resave: false }, 'resave', false, 'never written back'],
    [
      'express-session',
      { saveUninitialized: false },
      'saveUninitialized',
      false,
      'only once something is written',
    ],
    ['express-session', { cookie: { maxAge: 86_400_000 } }, 'maxAge', true, 'idleTimeout'],
    ['iron-session', { password: 'p'.repeat(32) }, 'password', false, '`secret`'],
    ['iron-session', { cookieName: 'app' }, 'cookieName', false, 'cookie: { name }'],
    ['iron-session', { ttl: 3600 }, 'ttl', false, 'idleTimeout'],
    ['koa-session', { key: 'koa.sess' }, 'key', false, 'cookie: { name }'],
    ['koa-session', { maxAge: 86_400_000 }, 'maxAge', false, 'idleTimeout'],
    ['@fastify/session', { cookieName: 'sessionId' }, 'cookieName', false, 'cookie: { name }'],
    ['@fastify/secure-session', { expiry: 86_400 }, 'expiry', false, 'idleTimeout'],
    ['hono-sessions', { expireAfterSeconds: 900 }, 'expireAfterSeconds', false, 'idleTimeout'],
    ['hono-sessions', { encryptionKey: 'k'.repeat(32) }, 'encryptionKey', false, '`secret`'],
  ])(
    '%s: %j is refused with ERR_SESSION_INVALID_OPTION and its equivalent named',
    (peer, options, name, inCookie, instead) => {
      expect(refused(options)).toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
      const hint = hintFor(name, inCookie)
      expect(hint?.from).toContain(peer)
      expect(hint?.instead).toContain(instead)
    },
  )

  it('an option no library uses is refused too, at the top level and inside cookie', () => {
    expect(refused({ idletimeout: 60 })).toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
    expect(refused({ cookie: { sameSight: 'lax' } })).toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
    expect(hintFor('idletimeout', false)).toBeUndefined()
  })

  it("express-session's per-request cookie function (and any cookie that is not an object) is refused, not ignored", () => {
    for (const cookie of [() => ({ maxAge: 60_000 }), null, 'sid', 1])
      expect(refused({ cookie }), String(cookie)).toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
    expect(refused({ cookie: undefined })).toBeUndefined()
  })

  it('every unknown option is named in the one error, top level first, then inside cookie', () => {
    const error = refused({
      name: 'sid',
      resave: false,
      idletimeout: 60,
      cookie: { maxAge: 1, sameSight: 'lax' },
    })
    expect(error?.code).toBe('ERR_SESSION_INVALID_OPTION')
    const named = error?.message.split('\n').map((line) => line.match(/`([^`]+)`/)?.[1])
    expect(named).toEqual(['name', 'resave', 'idletimeout', 'cookie.maxAge', 'cookie.sameSight'])
  })

  it('a cookie attribute given as undefined (a spread, a conditional) keeps its default', async () => {
    const manager = createSessionManager({
      secret,
      cookie: {
        name: undefined,
        secure: undefined,
        sameSite: undefined,
        httpOnly: undefined,
        path: undefined,
      },
    })
    const cycle = manager.begin({ cookieHeader: undefined })
    ;(await cycle.load()).set('n' as never, 1 as never)
    const [line] = (await cycle.commit()).setCookie
    expect(line).toMatch(/^session=/)
    expect(line).toContain('; Path=/')
    expect(line).toContain('; HttpOnly')
    expect(line).toContain('; SameSite=Lax')
  })

  it('names inherited from Object.prototype are not hints', () => {
    expect(hintFor('constructor', false)).toBeUndefined()
    expect(hintFor('toString', true)).toBeUndefined()
  })

  it('every option this library documents is accepted', () => {
    expect(
      refused({
        store: memoryStore(),
        revocations: undefined,
        cookie: {
          name: 'app',
          path: '/',
          domain: 'example.com',
          sameSite: 'strict',
          secure: true,
          httpOnly: true,
          partitioned: false,
          priority: 'high',
          maxChunks: 3,
          maxTotalSize: 9000,
        },
        idleTimeout: 60,
        absoluteTimeout: 120,
        rolling: 30,
        tokenHeader: 'X-Session-Token',
        onStoreError: 'anonymous',
        unsealCacheSize: 10,
        clock: Date.now,
        onEvent: () => {},
      }),
    ).toBeUndefined()
  })

  it('`{ manager }` with options beside it is refused: they would be ignored', () => {
    const manager = createSessionManager({ secret })
    expect(resolveManager({ manager })).toBe(manager)
    expect(() => resolveManager({ manager, idleTimeout: 60 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
    )
  })
})
