import { send } from '@x/session-conformance-tests'
import { memoryRevocations, type RevocationStore, session } from '@x/session-express'
import express from 'express'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisRevocations } from '../src/index.js'
import { deleteKeys, describeWith, probe, REDIS_URL, uniquePrefix } from './helpers.js'

const SECRET = 'express-revocations-secret-0123456789-abcdef'
const shared = await probe()
const prefix = uniquePrefix('express-revocations')

/**
 * The reproduction of a revived logout, over HTTP: Express, the cookie store, 1,000 revocations
 * kept at most, `bindUser` on login. Ending victim7's sessions, then 1,000 other users', must
 * leave victim7's copied cookie T no session.
 */
function reproduce(name: string, revocations: () => RevocationStore) {
  it(`K7: victim7's cookie stays no session after 1,000 later revocations (${name})`, async () => {
    const store = revocations()
    const mw = session({ secret: SECRET, revocations: store })
    const app = express()
    app.use(mw)
    app.post('/login/:user', (req, res) => {
      req.session.bindUser(req.params.user)
      res.json({ ok: true })
    })
    app.get('/me', (req, res) => {
      res.json({ user: req.session.boundUser ?? null })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise<void>((resolve) => server.once('listening', () => resolve()))
    const { port } = server.address() as { port: number }
    const base = `http://127.0.0.1:${port}`
    try {
      const victim = `victim7-${prefix}`
      const login = await send(`${base}/login/${encodeURIComponent(victim)}`, { method: 'POST' })
      const T = login.setCookie[0]?.split(';')[0]
      expect(T).toBeDefined()
      const me = async () => (await send(`${base}/me`, { cookie: T })).json().user
      expect(await me()).toBe(victim)
      // Revocations compare creation times in ms: the logout comes strictly after the login.
      await new Promise((resolve) => setTimeout(resolve, 5))
      await mw.manager.endUserSessions(victim)
      expect(await me()).toBeNull()
      for (let i = 0; i < 1000; i += 100) {
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, j) => mw.manager.endUserSessions(`other-${i + j}-${prefix}`)),
        )
        for (const result of results) {
          if (result.status === 'fulfilled') continue
          expect(result.reason).toMatchObject({ code: 'ERR_SESSION_REVOCATIONS_FULL' })
        }
      }
      expect(await me()).toBeNull()
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
}

describe('Express, cookie store, memoryRevocations({ maxEntries: 1000 })', () => {
  reproduce('memory', () => memoryRevocations({ maxEntries: 1000 }))
})

describeWith(`Express, cookie store, redisRevocations on ${REDIS_URL}`, shared, () => {
  let client: Redis
  beforeAll(async () => {
    client = new Redis(REDIS_URL, { lazyConnect: true })
    await client.connect()
  })
  afterAll(async () => {
    await deleteKeys(REDIS_URL, prefix)
    client?.disconnect()
  })
  reproduce('redis', () => redisRevocations({ client, prefix }))
})
