import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { listening } from '@x/session-conformance-tests'
import type { ManagerSource } from '@x/session-core'
import { session as expressSession } from '@x/session-express'
import { session as fastifySession } from '@x/session-fastify'
import { session as honoSession, type SessionEnv } from '@x/session-hono'
import { session as koaSession } from '@x/session-koa'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import Koa from 'koa'

/**
 * The same tiny app on each framework, written the way its users would write it:
 * `POST /write?key=value...` sets keys, `GET /read` answers the data, `POST /logout` destroys,
 * `POST /regenerate` gives the session a new id, keeping its data.
 */
export interface App {
  url: string
  close(): Promise<void>
}

type Data = Record<string, unknown>

function apply(session: Data, query: URLSearchParams): void {
  for (const [key, value] of query) session[key] = value
}

export const frameworks: Record<string, (options: ManagerSource) => Promise<App>> = {
  async express(options) {
    const app = express()
    app.use(expressSession(options))
    app.post('/write', (req, res) => {
      apply(req.session as unknown as Data, new URL(req.url, 'http://x').searchParams)
      res.json(req.session)
    })
    app.get('/read', (req, res) => {
      res.json({ isNew: req.session.isNew, data: req.session })
    })
    app.post('/logout', async (req, res) => {
      await req.session.destroy()
      res.json({ ok: true })
    })
    app.post('/regenerate', async (req, res) => {
      await req.session.regenerate({ keep: true })
      res.json({ ok: true })
    })
    return listening(app.listen(0, '127.0.0.1'))
  },

  async fastify(options) {
    const app = Fastify()
    await app.register(fastifySession, options)
    app.post('/write', async (request) => {
      apply(request.session as unknown as Data, new URL(request.url, 'http://x').searchParams)
      return request.session.toJSON()
    })
    app.get('/read', async (request) => ({ isNew: request.session.isNew, data: request.session.toJSON() }))
    app.post('/logout', async (request) => {
      await request.session.destroy()
      return { ok: true }
    })
    app.post('/regenerate', async (request) => {
      await request.session.regenerate({ keep: true })
      return { ok: true }
    })
    await app.listen({ host: '127.0.0.1', port: 0 })
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() }
  },

  async koa(options) {
    const app = new Koa()
    app.use(koaSession(options))
    app.use(async (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/write') {
        apply(ctx.session as unknown as Data, new URLSearchParams(ctx.querystring))
        ctx.body = ctx.session.toJSON()
      } else if (ctx.path === '/read') {
        ctx.body = { isNew: ctx.session.isNew, data: ctx.session.toJSON() }
      } else if (ctx.method === 'POST' && ctx.path === '/logout') {
        await ctx.session.destroy()
        ctx.body = { ok: true }
      } else if (ctx.method === 'POST' && ctx.path === '/regenerate') {
        await ctx.session.regenerate({ keep: true })
        ctx.body = { ok: true }
      }
    })
    return listening(app.listen(0, '127.0.0.1'))
  },

  async hono(options) {
    const app = new Hono<SessionEnv>()
    app.use(honoSession(options))
    app.post('/write', (c) => {
      const session = c.get('session')
      apply(session as unknown as Data, new URL(c.req.url).searchParams)
      return c.json(session.toJSON())
    })
    app.get('/read', (c) => c.json({ isNew: c.get('session').isNew, data: c.get('session').toJSON() }))
    app.post('/logout', async (c) => {
      await c.get('session').destroy()
      return c.json({ ok: true })
    })
    app.post('/regenerate', async (c) => {
      await c.get('session').regenerate({ keep: true })
      return c.json({ ok: true })
    })
    return listening(serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as Server)
  },
}
