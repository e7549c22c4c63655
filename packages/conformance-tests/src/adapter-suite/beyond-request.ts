import { getSession } from '@x/session-core/context'
import { expect } from 'vitest'
import { Jar, openSocket, type SocketClient } from '../client.js'
import type { AdapterHarness } from '../types.js'
import { caseIt, type Fixture, lacking, type Mode, NAME, OTHER_SECRET, q, startFixture } from './shared.js'

/** WebSockets and `getSession()`: the session outside the plain request-response path. */
export function defineBeyondRequestCases(harness: AdapterHarness, mode: Mode, get: () => Fixture): void {
  const serverSide = mode.store !== undefined
  const connect = (f: Fixture, jar?: Jar, origin?: string) =>
    openSocket(`${f.server.url}/ws`, { cookie: jar?.header(), headers: origin ? { origin } : {} })
  // biome-ignore lint/suspicious/noExplicitAny: replies are whatever the socket route sent
  const ask = async (socket: SocketClient, command: object): Promise<any> =>
    JSON.parse(await socket.ask(JSON.stringify(command)))
  const withSocket = async (
    f: Fixture,
    jar: Jar | undefined,
    run: (socket: SocketClient) => Promise<void>,
    origin?: string,
  ) => {
    const socket = await connect(f, jar, origin)
    try {
      await run(socket)
    } finally {
      await socket.close()
    }
  }

  lacking(harness, 'webSocket')('WebSocket', () => {
    caseIt("WebSocket: the upgrade request's session is there in the socket's handlers", async () => {
      const f = get()
      const { jar } = await f.login({ user: 'ada' })
      await withSocket(f, jar, async (socket) => {
        expect(await ask(socket, { op: 'read' })).toEqual({ isNew: false, data: { user: 'ada' } })
        expect(await ask(socket, { op: 'read', stale: true })).toEqual({
          isNew: false,
          data: { user: 'ada' },
        })
      })
      await withSocket(f, undefined, async (socket) => {
        expect(await ask(socket, { op: 'read' })).toEqual({ isNew: true, data: {} })
      })
    })

    caseIt("W1: a handshake from another origin carrying the victim's cookie gets no session", async () => {
      const f = get()
      const { jar } = await f.login({ user: 'ada' })
      await withSocket(
        f,
        jar,
        async (socket) => {
          expect(await ask(socket, { op: 'read' })).toEqual({ isNew: true, data: {} })
          expect(await ask(socket, { op: 'write', set: { user: 'mallory' } })).toEqual({
            error: 'ERR_SESSION_SOCKET_READ_ONLY',
          })
        },
        'https://evil.example',
      )
      expect(f.events).toContainEqual({
        type: 'origin-refused',
        origin: 'https://evil.example',
        cookie: NAME,
      })
      // The app's own pages (the server's own origin) still get it, and the session was not touched.
      await withSocket(
        f,
        jar,
        async (socket) => {
          expect(await ask(socket, { op: 'read' })).toEqual({ isNew: false, data: { user: 'ada' } })
        },
        new URL(f.server.url).origin,
      )
    })

    caseIt(
      'WebSocket: a socket without a session cannot make one (no cookie can reach its client)',
      async () => {
        const f = get()
        await withSocket(f, undefined, async (socket) => {
          expect(await ask(socket, { op: 'write', set: { user: 'mallory' } })).toEqual({
            error: 'ERR_SESSION_SOCKET_READ_ONLY',
          })
        })
      },
    )

    caseIt('WebSocket: regenerate() over a socket is refused, and the session goes on', async () => {
      const f = get()
      const { jar } = await f.login({ user: 'ada' })
      await withSocket(f, jar, async (socket) => {
        expect(await ask(socket, { op: 'regenerate' })).toEqual({ error: 'ERR_SESSION_SOCKET_READ_ONLY' })
      })
      expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: false, value: 'ada' })
    })

    if (serverSide) {
      caseIt(
        'W2: save() of a change made in a WebSocket message handler is seen by the next HTTP request',
        async () => {
          const f = get()
          const { jar } = await f.login({ user: 'ada', cart: { items: [] } })
          await withSocket(f, jar, async (socket) => {
            expect(await ask(socket, { op: 'write', set: { seen: 1 } })).toMatchObject({
              isNew: false,
              data: { user: 'ada', seen: 1 },
            })
            expect((await f.get('/read?key=seen', jar)).json()).toMatchObject({ isNew: false, value: 1 })
            // Nested mutation counts too, and later HTTP writes are seen by the socket's next read.
            await ask(socket, { op: 'push' })
            jar.apply(await f.post(q('/write', { set: { fromHttp: true } }), jar))
            expect(await ask(socket, { op: 'read' })).toMatchObject({
              data: { user: 'ada', seen: 1, cart: { items: ['ws'] }, fromHttp: true },
            })
          })
          expect((await f.get('/read?key=cart', jar)).json().value).toEqual({ items: ['ws'] })
        },
      )

      caseIt(
        "W2: a logout over HTTP is seen by the socket's next reload(), and the socket cannot bring it back",
        async () => {
          const f = get()
          const { jar, id } = await f.login({ user: 'ada' })
          await withSocket(f, jar, async (socket) => {
            expect(await ask(socket, { op: 'read' })).toMatchObject({ isNew: false })
            expect((await f.post('/destroy', jar)).status).toBe(200)
            expect(await ask(socket, { op: 'read' })).toEqual({ isNew: true, data: {} })
            expect(await ask(socket, { op: 'write', set: { user: 'ada' } })).toEqual({
              error: 'ERR_SESSION_SOCKET_READ_ONLY',
            })
          })
          expect(await f.store?.inner.get(id)).toBeUndefined()
          expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: true, has: false })
        },
      )

      caseIt('WebSocket: destroy() over a socket ends the session for HTTP too', async () => {
        const f = get()
        const { jar, id } = await f.login({ user: 'ada' })
        await withSocket(f, jar, async (socket) => {
          expect(await ask(socket, { op: 'destroy' })).toEqual({ isNew: true, data: {} })
        })
        expect(await f.store?.inner.get(id)).toBeUndefined()
        expect((await f.get('/read?key=user', jar)).json()).toMatchObject({ isNew: true, has: false })
      })
    } else {
      caseIt(
        'W2: with the cookie store a socket change is refused with ERR_SESSION_SOCKET_READ_ONLY, not lost silently',
        async () => {
          const f = get()
          const { jar } = await f.login({ user: 'ada', cart: { items: [] } })
          await withSocket(f, jar, async (socket) => {
            const refused = { error: 'ERR_SESSION_SOCKET_READ_ONLY' }
            expect(await ask(socket, { op: 'write', set: { user: 'mallory' } })).toEqual(refused)
            // A nested mutation cannot be stopped as it happens: save() refuses it.
            expect(await ask(socket, { op: 'push' })).toEqual(refused)
            expect(await ask(socket, { op: 'destroy' })).toEqual(refused)
          })
          expect((await f.get('/read', jar)).json()).toMatchObject({
            isNew: false,
            data: { user: 'ada', cart: { items: [] } },
          })
        },
      )
    }
  })

  lacking(harness, 'contextAccessor')('getSession()', () => {
    caseIt(
      "getSession(): code the handler calls finds the request's session after awaits, timers and immediates",
      async () => {
        const f = get()
        const { jar } = await f.login({ user: 'ada' })
        expect((await f.post('/context', jar)).json()).toMatchObject({ same: true, user: 'ada' })
      },
    )

    caseIt('getSession(): it is the live session: a write through it is committed', async () => {
      const f = get()
      const { jar } = await f.login({ user: 'ada' })
      const reply = await f.post(q('/context', { set: { viaContext: 1 } }), jar)
      expect(f.emitted(reply)).toHaveLength(1)
      expect((await f.get('/read?key=viaContext', jar.apply(reply))).json().value).toBe(1)
    })

    caseIt('getSession(): concurrent requests each find their own session', async () => {
      const f = get()
      const users = Array.from({ length: 10 }, (_, i) => `u${i}`)
      const jars = await Promise.all(users.map(async (user) => (await f.login({ user })).jar))
      const replies = await Promise.all(jars.map((jar) => f.post('/context', jar)))
      expect(replies.map((reply) => reply.json())).toEqual(
        users.map((user) => expect.objectContaining({ same: true, user })),
      )
    })

    caseIt('getSession(): still found after the framework read the request body', async () => {
      const f = get()
      const { jar } = await f.login({ user: 'ada' })
      const reply = await f.post('/context', jar, JSON.stringify({ some: 'body', list: [1, 2, 3] }))
      expect(reply.status).toBe(200)
      expect(reply.json()).toMatchObject({ same: true, user: 'ada' })
    })

    caseIt('getSession(name): picks among two mounted sessions by cookie name', async () => {
      const f = get()
      const two = await startFixture(harness, mode, {}, [
        { property: 'admin', options: { secret: OTHER_SECRET, cookie: { name: 'admin' }, store: f.store } },
      ])
      try {
        const jar = new Jar()
        jar.apply(await two.post(q('/two', { which: 'session', set: { user: 'user' } }), jar))
        jar.apply(await two.post(q('/two', { which: 'admin', set: { user: 'admin' } }), jar))
        expect((await two.post('/context?which=admin', jar)).json()).toMatchObject({
          same: true,
          user: 'admin',
        })
        expect((await two.post('/context', jar)).json()).toMatchObject({ same: true, user: 'user' })
      } finally {
        await two.server.close()
      }
    })

    caseIt('getSession(): outside a request it throws ERR_SESSION_NO_CONTEXT', () => {
      expect(() => getSession()).toThrow(expect.objectContaining({ code: 'ERR_SESSION_NO_CONTEXT' }))
    })
  })
}
