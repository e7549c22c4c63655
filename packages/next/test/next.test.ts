import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { nextSession, SessionError, SessionErrorCode } from '@x/session-next'
import { describe, expect, it } from 'vitest'

/**
 * The paths that need no Next.js server: `getSession(request, response)` (middleware, Fetch) and
 * `getSession(req, res)` (Pages Router). The `cookies()` path runs in the built app (app.test.ts,
 * conformance.test.ts).
 */
const secret = 'a test secret of at least thirty-two characters'
const getSession = nextSession<{ user: string; n: number }>({ secret })

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
}

/** A request carrying the session cookie of a saved session holding `data`. */
async function signedIn(data: { user: string }): Promise<Request> {
  const response = new Response(null)
  const session = await getSession(new Request('http://app.test/login'), response)
  Object.assign(session, data)
  await session.save()
  const cookie = response.headers.getSetCookie()[0]?.split(';')[0]
  return new Request('http://app.test/', { headers: { cookie: cookie ?? '' } })
}

describe('getSession(request, response)', () => {
  it('L1: save() appends the cookie to the response, and the next request reads it', async () => {
    const request = await signedIn({ user: 'ada' })
    expect((await getSession(request)).user).toBe('ada')
  })

  it("E5, E10: save() keeps the app's own Set-Cookie and makes a public Cache-Control private", async () => {
    const response = new Response(null, {
      headers: { 'set-cookie': 'app=1', 'cache-control': 'public, max-age=60' },
    })
    const session = await getSession(new Request('http://app.test/'), response)
    session.n = 1
    await session.save()
    const cookies = response.headers.getSetCookie()
    expect(cookies).toHaveLength(2)
    expect(cookies[0]).toBe('app=1')
    expect(cookies[1]).toMatch(/^session=Fe26\.2\*/)
    expect(response.headers.get('cache-control')).toMatch(/private|no-store/)
    expect(response.headers.get('cache-control')).not.toMatch(/public/)
  })

  it('E3: an unchanged session sends nothing, even when saved', async () => {
    const request = await signedIn({ user: 'ada' })
    const response = new Response(null)
    const session = await getSession(request, response)
    expect(session.user).toBe('ada')
    await session.save()
    expect(response.headers.getSetCookie()).toEqual([])
    expect(response.headers.get('cache-control')).toBeNull()
  })

  it('L8: calls within one request return the same session object', async () => {
    const request = new Request('http://app.test/')
    const [a, b] = await Promise.all([getSession(request), getSession(request)])
    expect(a).toBe(b)
    expect(await getSession(request)).toBe(a)
    expect(await getSession(new Request('http://app.test/'))).not.toBe(a)
  })

  it('without a response, a change cannot be saved: ERR_SESSION_COOKIES_READ_ONLY', async () => {
    const session = await getSession(new Request('http://app.test/'))
    session.n = 1
    expect(await codeOf(session.save())).toBe(SessionErrorCode.COOKIES_READ_ONLY)
  })

  it('a response with immutable headers (Response.redirect) fails with ERR_SESSION_COOKIES_READ_ONLY', async () => {
    const session = await getSession(
      new Request('http://app.test/'),
      Response.redirect('http://app.test/', 302),
    )
    session.n = 1
    expect(await codeOf(session.save())).toBe(SessionErrorCode.COOKIES_READ_ONLY)
  })

  it('a second save() fails with ERR_SESSION_INVALID_STATE instead of dropping the later change', async () => {
    const response = new Response(null)
    const session = await getSession(new Request('http://app.test/'), response)
    session.n = 1
    await session.save()
    session.n = 2
    expect(await codeOf(session.save())).toBe(SessionErrorCode.INVALID_STATE)
    expect(response.headers.getSetCookie()).toHaveLength(1)
  })

  it('L4: destroy() clears the cookie once; a later save() sends nothing more', async () => {
    const request = await signedIn({ user: 'ada' })
    const response = new Response(null)
    const session = await getSession(request, response)
    await session.destroy()
    session.user = 'mallory'
    await session.save()
    const cookies = response.headers.getSetCookie()
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatch(/^session=;.*Max-Age=0/)
  })

  it('the token header transport answers in the response header', async () => {
    const withHeader = nextSession<{ user: string }>({ secret, tokenHeader: 'x-session' })
    const response = new Response(null)
    const session = await withHeader(
      new Request('http://app.test/', { headers: { 'x-session': '' } }),
      response,
    )
    session.user = 'ada'
    await session.save()
    expect(response.headers.get('x-session')).toMatch(/^Fe26\.2\*/)
  })
})

describe('getSession(req, res) (Pages Router)', () => {
  /** Runs `handler` on a real Node server for one request and returns the reply. */
  async function serve(
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const server = createServer((req, res) => {
      handler(req, res).catch((error: unknown) => {
        res.statusCode = 599
        res.end(SessionError.is(error) ? error.code : String(error))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      return await fetch(`http://127.0.0.1:${port}/`, { headers })
    } finally {
      server.close()
      server.closeAllConnections()
    }
  }

  it("E5, E10, L8: save() appends to the app's Set-Cookie, sets Cache-Control, one session per request", async () => {
    const reply = await serve(async (req, res) => {
      res.setHeader('set-cookie', 'app=1')
      const session = await getSession(req, res)
      expect(await getSession(req, res)).toBe(session)
      session.user = 'ada'
      await session.save()
      res.end('ok')
    })
    expect(reply.headers.getSetCookie()).toEqual(['app=1', expect.stringMatching(/^session=Fe26\.2\*/)])
    expect(reply.headers.get('cache-control')).toMatch(/private|no-store/)
    const cookie = reply.headers.getSetCookie()[1]?.split(';')[0] ?? ''
    const again = await serve(
      async (req, res) => {
        res.end((await getSession(req, res)).user)
      },
      { cookie },
    )
    expect(await again.text()).toBe('ada')
  })

  it('save() after the response was sent fails with ERR_SESSION_COOKIES_READ_ONLY', async () => {
    let code: string | undefined
    await serve(async (req, res) => {
      const session = await getSession(req, res)
      session.user = 'ada'
      res.end('sent')
      code = await codeOf(session.save())
    })
    expect(code).toBe(SessionErrorCode.COOKIES_READ_ONLY)
  })
})
