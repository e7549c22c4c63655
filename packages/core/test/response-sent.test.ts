import { describe, expect, it } from 'vitest'
import {
  createSessionManager,
  memoryStore,
  type Session,
  SessionError,
  type SessionEvent,
  type SessionOptions,
} from '../src/index.js'

/**
 * `ResponseInfo.sent`: the response went out past the adapter's commit point (a Fastify reply
 * hijacked or written raw). The adapter only reports the fact; what the session may still do is
 * decided here.
 */

const SECRET = 'response-sent-secret-0123456789-abcdefghij'
type Loose = Session<Record<string, unknown>>

function setup(extra: Partial<SessionOptions> = {}) {
  const events: SessionEvent[] = []
  const manager = createSessionManager({ secret: SECRET, onEvent: (e) => events.push(e), ...extra })
  const login = async (data: Record<string, unknown>) => {
    const cycle = manager.begin({ cookieHeader: undefined })
    Object.assign(await cycle.load(), data)
    const { setCookie } = await cycle.commit()
    return setCookie.map((h) => h.split(';')[0]).join('; ')
  }
  /** A request whose response can be marked sent. */
  const request = async (cookieHeader: string | undefined) => {
    const response = { sent: false }
    const cycle = manager.begin({ cookieHeader }, response)
    const session = (await cycle.load()) as Loose
    return { cycle, session, response }
  }
  const unsent = () => events.filter((e) => e.type === 'unsent')
  return { manager, login, request, unsent }
}

const codeOf = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
}

describe('a response sent past the commit point', () => {
  it('before it is sent, the session changes and commits as usual', async () => {
    const { request } = setup()
    const { cycle, session } = await request(undefined)
    session.user = 'ada'
    expect((await cycle.commit()).setCookie).toHaveLength(1)
  })

  it('once sent, every change of a cookie-store session throws ERR_SESSION_RESPONSE_SENT, and reads go on', async () => {
    const { request, login } = setup()
    const { session, response } = await request(await login({ user: 'ada', n: 1 }))
    response.sent = true
    const changes: (() => unknown)[] = [
      () => (session.user = 'eve'),
      () => session.set('n', 2),
      () => session.delete('n'),
      () => session.clear(),
      () => session.flash('k', 1),
      () => session.bindUser('ada'),
    ]
    expect(changes.map(codeOf)).toEqual(Array(changes.length).fill('ERR_SESSION_RESPONSE_SENT'))
    await expect(session.regenerate()).rejects.toMatchObject({ code: 'ERR_SESSION_RESPONSE_SENT' })
    await expect(session.destroy()).rejects.toMatchObject({ code: 'ERR_SESSION_RESPONSE_SENT' })
    expect(session.toJSON()).toEqual({ user: 'ada', n: 1 })
    expect(codeOf(() => (session.user = 'ada'))).toBe('ok') // the same value: not a change
  })

  it('with a server store, a session the request carried may change and save(); a new one may not', async () => {
    const store = memoryStore()
    const { request, login } = setup({ store })
    const carried = await request(await login({ user: 'ada' }))
    carried.response.sent = true
    carried.session.seen = 1
    await carried.session.save()
    const fresh = await request(undefined)
    fresh.response.sent = true
    expect(codeOf(() => (fresh.session.user = 'eve'))).toBe('ERR_SESSION_RESPONSE_SENT')
    await expect(carried.session.regenerate()).rejects.toMatchObject({ code: 'ERR_SESSION_RESPONSE_SENT' })
    expect((await store.get(carried.session.id))?.data).toEqual({ user: 'ada', seen: 1 })
  })

  describe('the late commit of a change made before the response went', () => {
    const cases: [string, Partial<SessionOptions>, (s: Loose) => unknown, boolean][] = [
      ['a cookie-store write', {}, (s) => (s.user = 'eve'), true],
      ['a cookie-store nested mutation', {}, (s) => (s.cart as number[]).push(2), true],
      ['a cookie-store destroy()', {}, (s) => s.destroy(), true],
      ['a regenerate()', {}, (s) => s.regenerate({ keep: true }), true],
      ['a read that handed out an object, unchanged', {}, (s) => s.cart, false],
      ['nothing', {}, () => undefined, false],
      ['a server-store regenerate()', { store: memoryStore() }, (s) => s.regenerate({ keep: true }), true],
      [
        'a server-store write (kept: the cookie names it)',
        { store: memoryStore() },
        (s) => (s.user = 'eve'),
        false,
      ],
      ['a server-store destroy() (the record is gone)', { store: memoryStore() }, (s) => s.destroy(), false],
    ]
    for (const [name, options, change, reported] of cases) {
      it(`${name}: ${reported ? 'reported as unsent' : 'not reported'}, and sends nothing`, async () => {
        const { request, login, unsent } = setup(options)
        const { cycle, session, response } = await request(await login({ user: 'ada', cart: [1] }))
        await change(session)
        response.sent = true
        expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
        expect(unsent()).toEqual(reported ? [{ type: 'unsent', cookie: 'session' }] : [])
      })
    }

    it('a server-store write is saved by the late commit', async () => {
      const store = memoryStore()
      const { request, login } = setup({ store })
      const { cycle, session, response } = await request(await login({ user: 'ada' }))
      session.seen = 1
      response.sent = true
      await cycle.commit()
      expect((await store.get(session.id))?.data).toEqual({ user: 'ada', seen: 1 })
    })
  })
})
