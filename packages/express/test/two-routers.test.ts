import { send } from '@x/session-conformance-tests'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore, session } from '../src/index.js'
import { SECRET, type Served, serve } from './helpers.js'

describe('two session middlewares exposing req.session on different routers', () => {
  let served: Served
  beforeAll(async () => {
    const app = express()
    for (const [path, store] of [
      ['/a', undefined],
      ['/b', memoryStore()],
    ] as const) {
      const router = express.Router()
      router.use(session({ secret: SECRET, store, cookie: { name: path.slice(1) } }))
      router.get('/', (req, res) => {
        res.json({ has: req.session !== undefined, isNew: req.session?.isNew })
      })
      app.use(path, router)
    }
    served = await serve(app)
  })
  afterAll(() => served.close())

  it('L7: each router’s requests see their own middleware’s session, whichever was mounted first', async () => {
    for (const path of ['/a', '/b', '/a', '/b']) {
      const reply = await send(`${served.url}${path}/`)
      expect(reply.status).toBe(200)
      expect(reply.json()).toEqual({ has: true, isNew: true })
    }
  })
})
