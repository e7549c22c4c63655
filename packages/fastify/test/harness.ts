import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import websocket from '@fastify/websocket'
import type {
  AdapterHarness,
  AnySession,
  ConformanceApp,
  RouteResult,
  RunningServer,
} from '@x/session-conformance-tests'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { getSession } from '../src/context.js'
import { session } from '../src/index.js'

const sessionOf = (request: FastifyRequest, property: string) =>
  (request as unknown as Record<string, AnySession>)[property]!

function render(reply: FastifyReply, result: RouteResult): FastifyReply {
  switch (result.type) {
    case 'json':
      reply.code(result.status ?? 200)
      // A string would go out as text/plain: send it as the JSON it stands for.
      return typeof result.body === 'string'
        ? reply.type('application/json; charset=utf-8').send(JSON.stringify(result.body))
        : reply.send(result.body ?? null)
    case 'redirect':
      return reply.redirect(result.location, 302)
    case 'stream': {
      const { chunks, delayMs = 0 } = result
      async function* body() {
        for (const [i, chunk] of chunks.entries()) {
          if (i > 0) await delay(delayMs)
          yield chunk
        }
      }
      return reply.type('text/plain; charset=utf-8').send(Readable.from(body()))
    }
    case 'throw':
      throw new Error('boom')
  }
}

/** Serves a conformance app with Fastify 5 over real HTTP on 127.0.0.1. */
export const fastifyHarness: AdapterHarness = {
  name: 'fastify 5',
  secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
  async start(app: ConformanceApp): Promise<RunningServer> {
    // The suite's secure requests come from a proxy on this machine (see `secureRequest`).
    const server = Fastify({ trustProxy: '127.0.0.1' })
    // The suite's POSTs may carry any body or none: accept them all unparsed.
    server.removeAllContentTypeParsers()
    server.addContentTypeParser('*', (_request, payload, done) => {
      payload.resume()
      payload.on('end', () => done(null, undefined))
    })
    await server.register(websocket)
    for (const mounted of app.sessions) {
      await server.register(session, { ...mounted.options, property: mounted.property })
    }
    const first = app.sessions[0]?.property ?? 'session'
    for (const route of app.sockets) {
      // The upgrade request passes through the plugin's hooks like any other: its session is
      // request[property], one object for the life of the connection.
      server.get(route.path, { websocket: true }, (socket, request) => {
        const ctx = { session: sessionOf(request, first) }
        let queue = Promise.resolve()
        socket.on('message', (data) => {
          queue = queue.then(async () => socket.send(await route.onMessage(ctx, String(data))))
        })
      })
    }
    for (const route of app.routes) {
      server.route({
        method: route.method,
        url: route.path,
        handler: async (request, reply) => {
          const sessions = Object.fromEntries(
            app.sessions.map((s) => [s.property, sessionOf(request, s.property)]),
          )
          const result = await route.handler({
            sessions,
            session: sessionOf(request, first),
            sessionAgain: getSession(),
            query: new URLSearchParams(request.url.split('?')[1] ?? ''),
            setHeader: (name, value) => {
              reply.header(name, value)
            },
            assignNull: () => {
              ;(request as unknown as Record<string, unknown>)[first] = null
            },
          })
          return render(reply, result)
        },
      })
    }
    await server.listen({ host: '127.0.0.1', port: 0 })
    const { port } = server.server.address() as { port: number }
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        // Fastify's close waits for open sockets; the plugin's own preClose only asks them to close.
        for (const client of server.websocketServer.clients) client.terminate()
        await server.close()
      },
    }
  },
}
