import { Jar, send } from '@x/session-conformance-tests'
import express, { type Request } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryStore, type Session, SessionError, type SessionOptions, session } from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

/** A change once the response's head is out (a stream, a late callback) could not reach the client. */

type Loose = Session<Record<string, unknown>>
const sessionOf = (req: Request) => req.session as unknown as Loose

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const codeOf = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
}

async function start(options: Partial<SessionOptions> = {}) {
  const outcomes: string[] = []
  const app = express()
  app.use(session({ secret: SECRET, ...options }))
  app.post('/login', (req, res) => {
    sessionOf(req).user = 'ada'
    res.json({})
  })
  app.get('/stream', async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: 1\n\n')
    const outcome = codeOf(() => (sessionOf(req).user = 'mallory'))
    outcomes.push(outcome)
    // What may still change is persisted by save(), as over a WebSocket.
    if (outcome === 'ok') await sessionOf(req).save()
    res.end()
  })
  app.get('/me', (req, res) => {
    res.json({ user: sessionOf(req).user ?? null })
  })
  const served = await serve(app)
  servers.push(served)
  return { url: served.url, outcomes }
}

describe('a change after the head went out', () => {
  for (const [name, options] of [
    ['cookie store', {}],
    ['server store', { store: memoryStore() }],
  ] as const) {
    it(`${name}: throws ERR_SESSION_RESPONSE_SENT when it needs a cookie the response can no longer carry`, async () => {
      const { url, outcomes } = await start(options)
      const fresh = await send(`${url}/stream`)
      expect(fresh.setCookie).toEqual([])
      const jar = new Jar().apply(await send(`${url}/login`, { method: 'POST' }))
      await send(`${url}/stream`, { headers: jar.requestHeaders() })
      expect((await send(`${url}/me`, { headers: jar.requestHeaders() })).json()).toEqual({
        user: name === 'server store' ? 'mallory' : 'ada',
      })
      // A new session has no cookie to name it; a cookie-store change needs a new cookie. A
      // server-store session the request carried may change, and save() keeps it.
      expect(outcomes).toEqual(
        name === 'server store'
          ? ['ERR_SESSION_RESPONSE_SENT', 'ok']
          : ['ERR_SESSION_RESPONSE_SENT', 'ERR_SESSION_RESPONSE_SENT'],
      )
    })
  }
})
