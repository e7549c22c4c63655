import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type Koa from 'koa'
import { type WebSocket, WebSocketServer } from 'ws'
import {
  type KoaSessionOptions,
  type Session,
  type SessionData,
  SessionError,
  session,
} from '../src/index.js'

/**
 * The README's WebSocket recipe, line for line, with the Koa class, the options and the allowed
 * origin passed in so that the tests run it on Koa 3 and 2.
 */
export function websocketApp(
  KoaClass: typeof Koa,
  options: KoaSessionOptions,
  origin: string,
): {
  app: Koa
  wss: WebSocketServer
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
} {
  // The tests' pages live at `origin`, not at the server's own address: allow it, as the README says.
  const sessions = session({ ...options, allowedOrigins: [origin] })
  const app = new KoaClass()
  app.use(sessions)
  app.use(async (ctx) => {
    if (ctx.method === 'POST' && ctx.path === '/login') {
      await ctx.session.regenerate() // once the credentials are checked: a new id on login
      ctx.session.userId = 'ada'
      ctx.body = { userId: ctx.session.userId }
    } else if (ctx.method === 'POST' && ctx.path === '/logout') {
      await ctx.session.destroy()
      ctx.body = { userId: null }
    } else if (ctx.path === '/me') {
      ctx.body = { userId: ctx.session.userId ?? null, theme: ctx.session.theme ?? null }
    }
  })

  const wss = new WebSocketServer({ noServer: true })
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    void upgrade(req, socket, head)
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refuse = (status: number) =>
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`)
    socket.on('error', () => socket.destroy())
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/ws') return void refuse(404)
    try {
      const session = await sessions.upgrade(req)
      // A socket cannot start a session (no cookie reaches its client): log in over HTTP first.
      if (session.isNew) return void refuse(401)
      wss.handleUpgrade(req, socket, head, (ws) => connected(ws, session))
    } catch (error) {
      refuse(SessionError.is(error) ? error.status : 500)
    }
  }

  function connected(ws: WebSocket, session: Session<SessionData>): void {
    // One message at a time, so that no reload() lands between another message's change and its save().
    let queue = Promise.resolve()
    ws.on('message', (data) => {
      queue = queue.then(() => answer(ws, session, String(data)))
    })
  }

  async function answer(ws: WebSocket, session: Session<SessionData>, theme: string): Promise<void> {
    try {
      // A logout over HTTP since the last message ends the session here too.
      await session.reload()
      if (session.isNew) return ws.close(4401, 'logged out')
      session.theme = theme
      await session.save() // nothing is sent to a socket's client: save() persists the change
      ws.send(JSON.stringify({ userId: session.userId, theme: session.theme }))
    } catch (error) {
      ws.send(JSON.stringify({ error: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' }))
    }
  }

  return { app, wss, onUpgrade }
}
