import type { Server } from 'node:http'
import { SessionErrorCode, type SessionStore } from '@x/session-core'
import { afterEach, expect, it } from 'vitest'
import WebSocket, { type WebSocketServer } from 'ws'
import { listening, openSocket, type RunningServer, send } from '../../src/index.js'

/**
 * The WebSocket recipe of the adapters' READMEs on Node (Express and Koa with `ws`, Fastify with
 * `@fastify/websocket`, Hono with `@hono/node-ws`), checked the same way for all four. Each recipe's
 * app serves `POST /login` (as ada), `POST /logout`, `GET /me` and the socket `/ws`, which refuses a
 * handshake without a session (401, also what a handshake from another origin gets: no session),
 * saves each message as the theme
 * and answers `{ user, theme }`, and closes with 4401 once the session has ended.
 */
export interface NodeUpgradeRecipe {
  /**
   * Starts the README's app with these session options (a memory store unless `store` says
   * otherwise) on 127.0.0.1; closing it also ends the sockets it upgraded.
   */
  start(options: { store?: SessionStore | undefined; tokenHeader?: string }): Promise<RunningServer>
  /** The Origin the recipe's pages live at (in `allowedOrigins`). */
  origin: string
  /** What the recipe calls its user key in replies. @default 'user' */
  userKey?: string
}

/**
 * Serves a Node server whose `upgrade` listener hands sockets to `wss`: upgraded sockets are no
 * longer the HTTP server's, so closing ends them first (`server.close()` would wait for them).
 */
export async function servingSockets(server: Server, wss: WebSocketServer): Promise<RunningServer> {
  const served = await listening(server)
  return {
    url: served.url,
    async close() {
      for (const ws of wss.clients) ws.terminate()
      await served.close()
    },
  }
}

/** What a raw client sees of one WebSocket: the upgrade's refusal status, or its messages and close code. */
function dial(url: string, headers: Record<string, string>, path = '/ws') {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers })
  const events: ({ message: string } | { close: number })[] = []
  let refusalSetCookie: string[] | undefined
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
      refusalSetCookie = res.headers['set-cookie'] ?? []
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
    /** The refused handshake's `Set-Cookie` headers (undefined until it is refused). */
    refusalSetCookie: () => refusalSetCookie,
    send: (text: string) => ws.send(text),
    close: () => ws.terminate(),
  }
}

/** Defines the recipe's cases; call inside a `describe`. */
export function nodeUpgradeRecipeCases(recipeSpec: NodeUpgradeRecipe): void {
  const { origin: ORIGIN } = recipeSpec
  const user = recipeSpec.userKey ?? 'user'
  const running: RunningServer[] = []
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.close()))
  })

  async function recipe(options: { store?: SessionStore | undefined; tokenHeader?: string } = {}) {
    const served = await recipeSpec.start(options)
    running.push(served)
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
      expect(JSON.parse(await socket.ask('dark'))).toEqual({ [user]: 'ada', theme: 'dark' })
      const me = await send(`${url}/me`, { cookie })
      expect(me.json()).toEqual({ [user]: 'ada', theme: 'dark' })
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
    expect(await client.next()).toEqual({ message: JSON.stringify({ [user]: 'ada', theme: 'dark' }) })
    expect((await send(`${url}/logout`, { method: 'POST', cookie })).status).toBe(200)
    client.send('light')
    // A recipe may say goodbye before it closes.
    let event = await client.next()
    if ('message' in event) {
      expect(JSON.parse(event.message)).toEqual({ [user]: null })
      event = await client.next()
    }
    expect(event).toEqual({ close: 4401 })
    expect((await send(`${url}/me`, { cookie })).json()).toEqual({ [user]: null, theme: null })
  })

  it('W1: the README recipe refuses a handshake without a session (401), from another origin (no session: 401), elsewhere (404), with no Set-Cookie', async () => {
    const { url, login } = await recipe()
    const cookie = await login()
    const refusals: [ReturnType<typeof dial>, number][] = [
      [dial(url, { origin: ORIGIN }), 401],
      [dial(url, { cookie, origin: 'https://evil.test' }), 401],
      [dial(url, { cookie, origin: ORIGIN }, '/other'), 404],
    ]
    for (const [client, status] of refusals) {
      expect(await client.opened).toBe(status)
      expect(client.refusalSetCookie()).toEqual([])
    }
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
    expect((await send(`${url}/me`, { cookie })).json()).toEqual({ [user]: 'ada', theme: null })
  })

  it('the README recipe: a non-browser client sends its token header with the handshake (header transport)', async () => {
    const { url } = await recipe({ tokenHeader: 'X-Session-Token' })
    const login = await send(`${url}/login`, { method: 'POST', headers: { 'x-session-token': '' } })
    expect(login.setCookie).toEqual([])
    const token = String(login.headers['x-session-token'])
    const client = dial(url, { 'x-session-token': token, origin: ORIGIN })
    expect(await client.opened).toBe(101)
    client.send('dark')
    expect(await client.next()).toEqual({ message: JSON.stringify({ [user]: 'ada', theme: 'dark' }) })
    client.close()
    expect((await send(`${url}/me`, { headers: { 'x-session-token': token } })).json()).toEqual({
      [user]: 'ada',
      theme: 'dark',
    })
  })
}
