import { request } from 'node:http'
import { Jar, send } from '@x/session-conformance-tests'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningApp, startExpressApp } from '../dist/express-app.js'
import { startFastifyApp } from '../dist/fastify-app.js'

/**
 * Nest 11 apps (compiled with tsc, for Nest's decorator metadata) on Express and on Fastify,
 * driven over HTTP the way a browser would.
 */

const secret = 'a-nest-test-secret-that-is-long-enough-0123'

const platforms: [string, (secret: string) => Promise<RunningApp>][] = [
  ['express', startExpressApp],
  ['fastify', startFastifyApp],
]

describe.each(platforms)('Nest 11 on %s', (_platform, start) => {
  let app: RunningApp
  beforeAll(async () => {
    app = await start(secret)
  })
  afterAll(() => app.close())

  const get = (path: string, jar: Jar) => send(`${app.url}${path}`, { headers: jar.requestHeaders() })
  const post = async (path: string, jar: Jar) => {
    const reply = await send(`${app.url}${path}`, { method: 'POST', headers: jar.requestHeaders() })
    jar.apply(reply)
    return reply
  }

  it('a guard keeps out a visitor with no user in the session', async () => {
    expect((await get('/me', new Jar())).status).toBe(403)
  })

  it('E6: an exception after a change still sends the changed session', async () => {
    const jar = new Jar()
    await post('/login', jar)
    const failed = await post('/visit-then-fail', jar)
    expect(failed.status).toBe(400)
    expect(failed.setCookie).toHaveLength(1)
    await post('/visit-then-fail', jar)
    expect((await get('/me', jar)).json()).toMatchObject({ visits: 2 })
  })

  it('login regenerates the session id; the guard, a provider (getSession) and middleware then see the user', async () => {
    const jar = new Jar()
    await post('/visit-then-fail', jar)
    const before = (await get('/id', jar)).json().id
    const login = await post('/login', jar)
    expect(login.status).toBe(201)
    expect(login.json().id).not.toBe(before)
    const me = await get('/me', jar)
    expect(me.status).toBe(200)
    // regenerate() without { keep: true } starts the new session empty.
    expect(me.json()).toEqual({ user: 'ada', visits: null, id: login.json().id })
    expect(me.headers['x-session-user']).toBe('ada')
  })

  it('logout clears the cookie, and the guard keeps the client out again', async () => {
    const jar = new Jar()
    await post('/login', jar)
    expect((await get('/me', jar)).status).toBe(200)
    const logout = await post('/logout', jar)
    expect(logout.setCookie).toEqual([expect.stringMatching(/^session=;.*Max-Age=0/i)])
    expect(jar.get('session')).toBeUndefined()
    expect((await get('/me', jar)).status).toBe(403)
  })
})

describe('Nest 11 on express: @Sse()', () => {
  let app: RunningApp
  beforeAll(async () => {
    app = await startExpressApp(secret)
  })
  afterAll(() => app.close())

  it('the stream carries a change made in the handler; one once it is open throws ERR_SESSION_RESPONSE_SENT', async () => {
    const jar = new Jar().apply(await send(`${app.url}/login`, { method: 'POST' }))
    const body = await stream(`${app.url}/events`, jar.requestHeaders(), async () => {
      await send(`${app.url}/events/poke`, { method: 'POST' })
    })
    expect(body.status).toBe(200)
    expect(body.setCookie).toHaveLength(1)
    jar.apply(body)
    expect(body.text).toContain('data: open')
    expect(body.text).toContain('event: error')
    expect(body.text).not.toContain('data: changed')
    expect(app.logger.errors).toContainEqual(expect.objectContaining({ code: 'ERR_SESSION_RESPONSE_SENT' }))
    const me = await send(`${app.url}/me`, { headers: jar.requestHeaders() })
    expect(me.json()).toMatchObject({ user: 'ada', visits: 1 })
  })
})

describe('Nest 11 on fastify: @Sse()', () => {
  let app: RunningApp
  beforeAll(async () => {
    app = await startFastifyApp(secret)
  })
  afterAll(() => app.close())

  it('a change once the stream is open throws ERR_SESSION_RESPONSE_SENT (an error event), one before it is reported unsent', async () => {
    const jar = new Jar().apply(await send(`${app.url}/login`, { method: 'POST' }))
    const body = await stream(`${app.url}/events`, jar.requestHeaders(), async () => {
      await send(`${app.url}/events/poke`, { method: 'POST' })
    })
    expect(body.status).toBe(200)
    expect(body.setCookie).toEqual([])
    expect(body.text).toContain('data: open')
    expect(body.text).toContain('event: error')
    expect(body.text).not.toContain('data: changed')
    expect(app.logger.errors).toContainEqual(expect.objectContaining({ code: 'ERR_SESSION_RESPONSE_SENT' }))
    await expect.poll(() => app.events).toContainEqual({ type: 'unsent', cookie: 'session' })
    // Neither change took: the session is as the login left it.
    const me = await send(`${app.url}/me`, { headers: jar.requestHeaders() })
    expect(me.json()).toMatchObject({ user: 'ada', visits: null })
  })
})

/**
 * Reads an event stream to its end; `onFirstEvent` runs once the first event has arrived (the
 * stream's head is out by then).
 */
function stream(
  url: string,
  headers: Record<string, string>,
  onFirstEvent: () => Promise<void>,
): Promise<{ status: number; setCookie: string[]; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      let text = ''
      let poked = false
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
        if (!poked && text.includes('\n\n')) {
          poked = true
          onFirstEvent().catch(reject)
        }
      })
      res.on('error', reject)
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], text }),
      )
    })
    req.setTimeout(15_000, () => req.destroy(new Error(`${url} did not end`)))
    req.on('error', reject)
    req.end()
  })
}
