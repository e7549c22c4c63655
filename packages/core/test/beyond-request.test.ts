import { describe, expect, it } from 'vitest'
import { findSession, getSession } from '../src/context.js'
import { createSessionManager, memoryStore, type SessionEvent, type SessionOptions } from '../src/index.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

const SECRET = 'beyond-request-secret-0123456789-abcdefg'
const code = (c: string) => expect.objectContaining({ code: c })

function setup(extra: Partial<SessionOptions> = {}) {
  const clock = createTestClock()
  const manager = createSessionManager({ secret: SECRET, clock, ...extra })
  /** A browser request: returns the cookie header for the next one. */
  const login = async (data: Record<string, unknown>) => {
    const cycle = manager.begin({ cookieHeader: undefined })
    Object.assign(await cycle.load(), data)
    const { setCookie } = await cycle.commit()
    return setCookie.map((h) => h.split(';')[0]).join('; ')
  }
  return { manager, clock, login }
}

describe('tokenHeader option', () => {
  it('refuses names that are not header names, or that mean something else', () => {
    for (const tokenHeader of ['', 'X Session', 'x-session:', 'Cookie', 'set-cookie', 'Sec-Token', 42]) {
      expect(() => setup({ tokenHeader: tokenHeader as never })).toThrow(code('ERR_SESSION_INVALID_OPTION'))
    }
    expect(() => setup({ tokenHeader: { name: 'X-Token', cookie: 'no' as never } })).toThrow(
      code('ERR_SESSION_INVALID_OPTION'),
    )
  })

  it('T11: header names with a meaning in HTTP are refused at configuration time, in any case', () => {
    const meaningful = [
      // hop-by-hop and framing
      'Connection',
      'Keep-Alive',
      'Proxy-Connection',
      'Transfer-Encoding',
      'TE',
      'Trailer',
      'Upgrade',
      'Content-Length',
      // representation
      'Content-Type',
      'Content-Encoding',
      'Content-Range',
      'Content-Security-Policy',
      // caching and conditionals
      'Cache-Control',
      'Expires',
      'Pragma',
      'Age',
      'ETag',
      'Last-Modified',
      'Vary',
      'If-None-Match',
      'If-Modified-Since',
      // CORS
      'Access-Control-Allow-Origin',
      'Access-Control-Expose-Headers',
      'Origin',
      // authentication
      'Authorization',
      'WWW-Authenticate',
      'Proxy-Authenticate',
      'Proxy-Authorization',
      // the rest of what proxies and browsers act on
      'Cookie',
      'Set-Cookie',
      'Host',
      'Location',
      'Forwarded',
      'X-Forwarded-Proto',
      'Sec-Fetch-Site',
    ]
    for (const name of meaningful) {
      for (const spelling of [name, name.toLowerCase(), name.toUpperCase()]) {
        expect(() => setup({ tokenHeader: spelling }), spelling).toThrow(code('ERR_SESSION_INVALID_OPTION'))
        expect(() => setup({ tokenHeader: { name: spelling } }), spelling).toThrow(
          code('ERR_SESSION_INVALID_OPTION'),
        )
      }
    }
    // Names of the app's own are accepted, including ones that merely contain a reserved word.
    for (const name of ['X-Session-Token', 'X-Auth-Token', 'Session-Token', 'X-Content-Token', 'Tokens']) {
      expect(() => setup({ tokenHeader: name }), name).not.toThrow()
    }
  })

  it('reads the token from the header (any case of its name) and answers in it, without a cookie', async () => {
    const { manager } = setup({ tokenHeader: 'X-Session-Token' })
    const first = manager.begin({ cookieHeader: undefined, headers: { 'x-session-token': '' } })
    ;((await first.load()) as Loose).user = 'ada'
    const written = await first.commit()
    expect(written.setCookie).toEqual([])
    expect(written.headers).toHaveLength(1)
    const [name, token] = written.headers[0] ?? []
    expect(name).toBe('X-Session-Token')
    const fetchHeaders = new Headers({ 'X-SESSION-TOKEN': token ?? '' })
    const second = manager.begin({ cookieHeader: undefined, headers: fetchHeaders })
    expect(((await second.load()) as Loose).user).toBe('ada')
    expect(await second.commit()).toEqual({ setCookie: [], headers: [] })
  })

  it('refuses a token over maxTotalSize instead of sending a header no server would read', async () => {
    const { manager } = setup({ tokenHeader: 'X-Session-Token', cookie: { maxTotalSize: 500 } })
    const cycle = manager.begin({ cookieHeader: undefined, headers: { 'x-session-token': '' } })
    ;((await cycle.load()) as Loose).big = 'x'.repeat(1000)
    await expect(cycle.commit()).rejects.toEqual(code('ERR_SESSION_TOO_LARGE'))
  })
})

describe('flash()', () => {
  it('keeps messages out of the data views, and refuses bad keys and undefined values', async () => {
    const { manager } = setup()
    const session: Loose = await manager.begin({ cookieHeader: undefined }).load()
    session.flash('info', 'hi')
    expect(session.toJSON()).toEqual({})
    expect(Object.keys(session)).toEqual([])
    expect(session.has('flash')).toBe(false)
    expect(session.get('flash')).toBeUndefined()
    expect(() => session.set('flash', 1)).toThrow(code('ERR_SESSION_RESERVED_KEY'))
    expect(() => session.flash('')).toThrow(code('ERR_SESSION_INVALID_OPTION'))
    expect(() => session.flash('k', undefined)).toThrow(code('ERR_SESSION_INVALID_OPTION'))
    expect(session.flash()).toEqual({ info: ['hi'] })
    expect(session.flash()).toEqual({})
  })

  it('T7: a stored flash entry of the wrong shape is dropped, not trusted', async () => {
    const store = memoryStore()
    const { manager, login } = setup({ store })
    const cookie = await login({ user: 'ada' })
    const { id } = await manager.begin({ cookieHeader: cookie }).load()
    const record = await store.get(id)
    if (!record) throw new Error('the login was not stored')
    await store.set(id, { ...record, data: { user: 'ada', flash: { info: 'not a list' } } }, { ttl: 60 })
    const session: Loose = await manager.begin({ cookieHeader: cookie }).load()
    expect(session.flash('info')).toEqual([])
    expect(session.user).toBe('ada')
  })
})

describe('W1: WebSocket handshakes from other origins', () => {
  const signedIn = async (extra: Partial<SessionOptions> = {}) => {
    const events: SessionEvent[] = []
    const t = setup({ onEvent: (e) => events.push(e), ...extra })
    return { ...t, events, cookie: await t.login({ user: 'ada' }) }
  }
  const user = (session: Loose) => session.get('user')

  it("W1: by default only the request's own origin (Host and scheme) gets the session", async () => {
    const { manager, cookie, events } = await signedIn()
    const node = (origin: string | undefined, encrypted = false) =>
      manager.upgrade({
        headers: { cookie, host: 'app.example', upgrade: 'websocket', ...(origin ? { origin } : {}) },
        socket: { encrypted },
      })
    expect(user(await node('http://app.example'))).toBe('ada')
    expect(user(await node('HTTP://APP.EXAMPLE'))).toBe('ada')
    expect(user(await node('https://app.example', true))).toBe('ada')
    // Another site, another scheme, another port, a sibling host, the opaque "null" origin.
    for (const origin of [
      'https://evil.example',
      'https://app.example',
      'http://app.example:8080',
      'http://sub.app.example',
      'null',
    ]) {
      const refused = await node(origin)
      expect(refused.isNew, origin).toBe(true)
      expect(user(refused), origin).toBeUndefined()
      expect(events.at(-1)).toEqual({ type: 'origin-refused', origin, cookie: 'session' })
    }
    // Fetch requests: the scheme is the URL's.
    const fetchRequest = (url: string, origin: string) =>
      manager.upgrade(new Request(url, { headers: { cookie, origin, upgrade: 'websocket' } }))
    expect(user(await fetchRequest('https://app.example/ws', 'https://app.example'))).toBe('ada')
    expect(user(await fetchRequest('https://app.example/ws', 'https://evil.example'))).toBeUndefined()
  })

  it('W1: a handshake without Origin (no browser) keeps its session; an ordinary request is not checked', async () => {
    const { manager, cookie } = await signedIn()
    expect(user(await manager.upgrade({ headers: { cookie, host: 'app.example' } }))).toBe('ada')
    const plain = manager.begin({
      cookieHeader: cookie,
      headers: { host: 'app.example', origin: 'https://evil.example' },
    })
    expect(user(await plain.load())).toBe('ada')
  })

  it('W1: a request the adapter hands over with Upgrade: websocket is checked with its secure flag', async () => {
    const { manager, cookie } = await signedIn()
    const handshake = (origin: string, secure: boolean) =>
      manager
        .begin({
          cookieHeader: cookie,
          secure,
          headers: { cookie, host: 'app.example', origin, upgrade: 'websocket' },
        })
        .load()
    expect(user(await handshake('https://app.example', true))).toBe('ada')
    expect(user(await handshake('https://app.example', false))).toBeUndefined()
    expect(user(await handshake('https://evil.example', true))).toBeUndefined()
  })

  it('W1: a refused handshake gets an empty session that cannot be written', async () => {
    const { manager, cookie } = await signedIn({ store: memoryStore() })
    const session: Loose = await manager.upgrade({
      headers: { cookie, host: 'app.example', origin: 'https://evil.example' },
    })
    expect(session.isNew).toBe(true)
    expect(() => {
      session.user = 'mallory'
    }).toThrow(code('ERR_SESSION_SOCKET_READ_ONLY'))
  })

  it('W1: allowedOrigins lists exactly the origins allowed, or a function decides', async () => {
    const listed = await signedIn({ allowedOrigins: ['https://app.example', 'https://admin.example:8443'] })
    const ask = (m: typeof listed.manager, c: string, origin: string) =>
      m.upgrade({ headers: { cookie: c, host: 'internal:3000', origin } })
    expect(user(await ask(listed.manager, listed.cookie, 'https://app.example'))).toBe('ada')
    expect(user(await ask(listed.manager, listed.cookie, 'https://ADMIN.example:8443'))).toBe('ada')
    expect(user(await ask(listed.manager, listed.cookie, 'http://internal:3000'))).toBeUndefined()
    expect(user(await ask(listed.manager, listed.cookie, 'https://evil.example'))).toBeUndefined()
    const decided = await signedIn({ allowedOrigins: (origin) => origin.endsWith('.app.example') })
    expect(user(await ask(decided.manager, decided.cookie, 'https://eu.app.example'))).toBe('ada')
    expect(user(await ask(decided.manager, decided.cookie, 'https://evil.example'))).toBeUndefined()
  })

  it('W1: allowedOrigins entries that are not origins are refused at configuration time', () => {
    for (const entry of [
      'https://app.example/',
      'https://app.example/ws',
      '*',
      'app.example',
      'null',
      42,
      '',
    ]) {
      expect(() => setup({ allowedOrigins: [entry as never] }), String(entry)).toThrow(
        code('ERR_SESSION_INVALID_OPTION'),
      )
    }
    expect(() => setup({ allowedOrigins: 'https://app.example' as never })).toThrow(
      code('ERR_SESSION_INVALID_OPTION'),
    )
  })
})

describe('socket sessions', () => {
  it('manager.upgrade() loads the session of a Node or Fetch upgrade request', async () => {
    const { manager, login } = setup({ store: memoryStore() })
    const cookie = await login({ user: 'ada' })
    const node: Loose = await manager.upgrade({ headers: { cookie, upgrade: 'websocket' } })
    const web: Loose = await manager.upgrade({ headers: new Headers({ cookie }) })
    expect(node.user).toBe('ada')
    expect(web.user).toBe('ada')
  })

  it('an Upgrade: websocket request is a socket session through begin() too: commit sends nothing', async () => {
    const { manager, login } = setup()
    const cookie = await login({ user: 'ada' })
    const cycle = manager.begin({ cookieHeader: cookie, headers: { upgrade: 'WebSocket' } })
    const session: Loose = await cycle.load()
    expect(() => {
      session.user = 'mallory'
    }).toThrow(code('ERR_SESSION_SOCKET_READ_ONLY'))
    session.touch()
    expect(await cycle.commit()).toEqual({ setCookie: [], headers: [] })
  })

  it('writing the value a key already holds is not a change, so not refused', async () => {
    const { manager, login } = setup()
    const cookie = await login({ user: 'ada' })
    const session: Loose = await manager.upgrade({ headers: { cookie } })
    session.user = 'ada'
    await expect(session.save()).resolves.toBeUndefined()
  })

  it('reload() sees a logout made elsewhere, and save() afterwards is refused', async () => {
    const store = memoryStore()
    const { manager, login } = setup({ store })
    const cookie = await login({ user: 'ada' })
    const socket: Loose = await manager.upgrade({ headers: { cookie } })
    const http = manager.begin({ cookieHeader: cookie })
    await (await http.load()).destroy()
    await http.commit()
    expect(socket.user).toBe('ada')
    await socket.reload()
    expect(socket.user).toBeUndefined()
    expect(socket.isNew).toBe(true)
    expect(() => {
      socket.user = 'ada'
    }).toThrow(code('ERR_SESSION_SOCKET_READ_ONLY'))
  })

  it('reload() drops unsaved changes and takes what another request saved', async () => {
    const store = memoryStore()
    const { manager, login } = setup({ store })
    const cookie = await login({ user: 'ada', n: 1 })
    const socket: Loose = await manager.upgrade({ headers: { cookie } })
    socket.n = 2
    const http = manager.begin({ cookieHeader: cookie })
    ;((await http.load()) as Loose).other = true
    await http.commit()
    await socket.reload()
    expect(socket.toJSON()).toEqual({ user: 'ada', n: 1, other: true })
  })
})

describe('getSession()', () => {
  it('finds the session inside cycle.run(), also after awaits, and nothing outside', async () => {
    const { manager } = setup()
    const cycle = manager.begin({ cookieHeader: undefined })
    const session = await cycle.load()
    const found = await cycle.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      return getSession()
    })
    expect(found).toBe(session)
    expect(findSession()).toBeUndefined()
    expect(() => getSession()).toThrow(code('ERR_SESSION_NO_CONTEXT'))
  })

  it('with nested middlewares, the first by default and any by cookie name', async () => {
    const a = setup()
    const b = setup({ cookie: { name: 'admin' } })
    const outer = a.manager.begin({ cookieHeader: undefined })
    const inner = b.manager.begin({ cookieHeader: undefined })
    const [first, second] = [await outer.load(), await inner.load()]
    outer.run(() =>
      inner.run(() => {
        expect(getSession()).toBe(first)
        expect(getSession('admin')).toBe(second)
        expect(() => getSession('missing')).toThrow(code('ERR_SESSION_NO_CONTEXT'))
      }),
    )
  })
})
