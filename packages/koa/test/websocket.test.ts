import { listening, openSocket, type RunningServer, send } from '@x/session-conformance-tests'
import Koa from 'koa'
import Koa2 from 'koa2'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type KoaSessionOptions, memoryStore, SessionErrorCode } from '../src/index.js'
import { websocketApp } from './websocket-app.js'

const ORIGIN = 'http://app.test'
const SECRET = 'koa-websocket-tests-secret-0123456789abcdef'

/** What a raw client sees of one WebSocket: the upgrade's refusal status, or its messages and close code. */
function dial(url: string, headers: Record<string, string>, path = '/ws') {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers })
  const events: ({ message: string } | { close: number })[] = []
  const waiting: (() => void)[] = []
  const push = (event: (typeof events)[number]) => {
    events.push(event)
    waiting.shift()?.()
  }
  ws.on('message', (data) => push({ message: String(data) }))
  ws.on('close', (code) => push({ close: code }))
  const opened = new Promise<number>((resolve, reject) => {
    ws.once('open', () => resolve(101))
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    // Also what terminate() raises after a refused handshake.
    ws.on('error', reject)
  })
  return {
    opened,
    async next() {
      if (events.length === 0) await new Promise<void>((resolve) => waiting.push(resolve))
      return events.shift()!
    },
    send: (text: string) => ws.send(text),
    close: () => ws.terminate(),
  }
}

describe.each([
  ['koa 3', Koa],
  ['koa 2', Koa2],
])('%s', (_name, KoaClass) => {
  const running: RunningServer[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()))
  })

  async function recipe(options: KoaSessionOptions = {}) {
    const { app, wss, onUpgrade } = websocketApp(
      KoaClass,
      { secret: SECRET, store: memoryStore(), ...options },
      ORIGIN,
    )
    const server = app.listen(0, '127.0.0.1').on('upgrade', onUpgrade)
    const served = await listening(server)
    running.push({
      url: served.url,
      async close() {
        // Upgraded sockets are no longer the HTTP server's: server.close() would wait for them.
        for (const ws of wss.clients) ws.terminate()
        await served.close()
      },
    })
    const login = async () => {
      const reply = await send(`${served.url}/login`, { method: 'POST' })
      expect(reply.status).toBe(200)
      return reply.setCookie.map((c) => c.split(';', 1)[0]!).join('; ')
    }
    return { url: served.url, login }
  }

  it('the README recipe: a change saved over the socket is seen by the next HTTP request', async () => {
    const { url, login } = await recipe()
    const cookie = await login()
    const socket = await openSocket(`${url}/ws`, { cookie, headers: { origin: ORIGIN } })
    try {
      expect(JSON.parse(await socket.ask('dark'))).toEqual({ userId: 'ada', theme: 'dark' })
      const me = await send(`${url}/me`, { cookie })
      expect(me.json()).toEqual({ userId: 'ada', theme: 'dark' })
      // Nothing the socket saved needs a new cookie: the HTTP side sends none either.
      expect(me.setCookie).toEqual([])
    } finally {
      await socket.close()
    }
  })

  it("the README recipe: a logout over HTTP ends the socket's session at its next message", async () => {
    const { url, login } = await recipe()
    const cookie = await login()
    const client = dial(url, { cookie, origin: ORIGIN })
    expect(await client.opened).toBe(101)
    client.send('dark')
    expect(await client.next()).toEqual({ message: JSON.stringify({ userId: 'ada', theme: 'dark' }) })
    expect((await send(`${url}/logout`, { method: 'POST', cookie })).status).toBe(200)
    client.send('light')
    expect(await client.next()).toEqual({ close: 4401 })
    expect((await send(`${url}/me`, { cookie })).json()).toEqual({ userId: null, theme: null })
  })

  it('the README recipe: refuses a handshake without a session (401), from another origin (403), elsewhere (404)', async () => {
    const { url, login } = await recipe()
    const cookie = await login()
    expect(await dial(url, { origin: ORIGIN }).opened).toBe(401)
    expect(await dial(url, { cookie, origin: 'https://evil.test' }).opened).toBe(403)
    expect(await dial(url, { cookie, origin: ORIGIN }, '/other').opened).toBe(404)
  })

  it('the README recipe: with the cookie store a socket write is refused with ERR_SESSION_SOCKET_READ_ONLY', async () => {
    const { url, login } = await recipe({ store: undefined })
    const cookie = await login()
    const socket = await openSocket(`${url}/ws`, { cookie, headers: { origin: ORIGIN } })
    try {
      expect(JSON.parse(await socket.ask('dark'))).toEqual({ error: SessionErrorCode.SOCKET_READ_ONLY })
    } finally {
      await socket.close()
    }
    expect((await send(`${url}/me`, { cookie })).json()).toEqual({ userId: 'ada', theme: null })
  })

  it('the README recipe: a non-browser client sends its token header with the handshake (header transport)', async () => {
    const { url } = await recipe({ tokenHeader: 'X-Session-Token' })
    const login = await send(`${url}/login`, { method: 'POST', headers: { 'x-session-token': '' } })
    expect(login.setCookie).toEqual([])
    const token = String(login.headers['x-session-token'])
    const client = dial(url, { 'x-session-token': token, origin: ORIGIN })
    expect(await client.opened).toBe(101)
    client.send('dark')
    expect(await client.next()).toEqual({ message: JSON.stringify({ userId: 'ada', theme: 'dark' }) })
    client.close()
    expect((await send(`${url}/me`, { headers: { 'x-session-token': token } })).json()).toEqual({
      userId: 'ada',
      theme: 'dark',
    })
  })
})
