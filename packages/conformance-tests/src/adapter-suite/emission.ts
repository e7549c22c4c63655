import { beforeEach, describe, expect } from 'vitest'
import type { InstrumentedStore } from '../stores.js'
import type { AdapterHarness } from '../types.js'
import {
  caseIt,
  type Fixture,
  lackingIt,
  type Mode,
  NAME,
  names,
  q,
  startFixture,
  type Transport,
} from './shared.js'

/**
 * Emission (E1-E11): when a response carries the session, and what it carries. E9, the exact
 * attributes, is with the other cookie attributes in cookie-syntax.ts.
 */
export function defineEmissionCases(
  harness: AdapterHarness,
  mode: Mode,
  transport: Transport,
  get: () => Fixture,
): void {
  const serverSide = mode.store !== undefined
  describe('emission', () => {
    let f: Fixture
    beforeEach(() => {
      f = get()
    })

    caseIt('E1: no cookie and an untouched session: no Set-Cookie, no store write', async () => {
      const writes = f.store ? f.store.calls.set + f.store.calls.touch : 0
      const reply = await f.get('/noop')
      expect(reply.status).toBe(200)
      expect(f.emitted(reply)).toEqual([])
      if (f.store) expect(f.store.calls.set + f.store.calls.touch).toBe(writes)
    })

    caseIt('E2: reading a missing key of a new session does not create it', async () => {
      const reply = await f.get('/read?key=missing')
      expect(reply.status).toBe(200)
      expect(reply.json()).toMatchObject({ isNew: true, has: false })
      expect(f.emitted(reply)).toEqual([])
    })

    caseIt('E3: a valid unchanged session gets no Set-Cookie and no store write', async () => {
      const { jar } = await f.login()
      const writes = f.store ? f.store.calls.set + f.store.calls.touch : 0
      const reply = await f.get('/read?key=user', jar)
      expect(reply.json()).toMatchObject({ isNew: false, value: 'ada' })
      expect(f.emitted(reply)).toEqual([])
      if (f.store) expect(f.store.calls.set + f.store.calls.touch).toBe(writes)
    })

    caseIt('E4: a changed session gets exactly one Set-Cookie per cookie name', async () => {
      const { jar } = await f.login()
      const reply = await f.post(q('/write', { set: { n: 1 }, via: 'set' }), jar)
      const sent = names(reply)
      expect(new Set(sent).size).toBe(sent.length)
      expect(f.emitted(reply)).toHaveLength(1)
    })

    for (const order of ['before', 'after']) {
      caseIt(`E5: the app's own Set-Cookie headers are kept (app writes ${order} the session)`, async () => {
        const reply = await f.post(q('/app-cookie', { order, set: { n: 1 } }))
        const own = f.transport === 'cookie' ? [NAME] : []
        expect(names(reply).sort()).toEqual(['app', 'app2', ...own].sort())
        expect(f.emitted(reply)).toHaveLength(1)
        expect(reply.setCookie).toContain('app=1; Path=/')
        expect(reply.setCookie).toContain('app2=2; Path=/; HttpOnly')
      })
    }

    for (const [respond, status] of [
      ['redirect', 302],
      ['status-404', 404],
      ['status-500', 500],
      ['throw', 500],
    ] as const) {
      const e6 = respond === 'throw' ? lackingIt(harness, 'thrownErrors') : caseIt
      e6(`E6: the cookie is sent on ${respond} (${status})`, async () => {
        const reply = await f.post(q('/write', { set: { flow: respond }, respond }))
        expect(reply.status).toBe(status)
        expect(f.emitted(reply)).toHaveLength(1)
        const next = await f.get('/read?key=flow', f.jar().apply(reply))
        expect(next.json()).toMatchObject({ isNew: false, value: respond })
      })
    }

    caseIt('E7: a change made before the first streamed byte is committed with the headers', async () => {
      const reply = await f.post(q('/write', { set: { streamed: true }, respond: 'stream' }))
      expect(reply.status).toBe(200)
      expect(reply.body).toBe('first;second;third')
      expect(f.emitted(reply)).toHaveLength(1)
      const next = await f.get('/read?key=streamed', f.jar().apply(reply))
      expect(next.json().value).toBe(true)
    })

    caseIt('E8: login, redirect, next request sees the new data', async () => {
      const reply = await f.post(q('/write', { set: { user: 'grace' }, respond: 'redirect' }))
      expect(reply.status).toBe(302)
      expect(reply.headers.location).toBe('/read')
      const next = await f.get('/read?key=user', f.jar().apply(reply))
      expect(next.json()).toMatchObject({ isNew: false, value: 'grace' })
    })

    if (serverSide) {
      caseIt(
        'E8: the store write has finished before the response is sent, however slow the store',
        async () => {
          const app = await startFixture(harness, mode, {}, [], false, transport)
          const store = app.store as InstrumentedStore
          try {
            store.slowWrites = true
            const { jar, id } = await app.login({ user: 'grace' })
            // Read straight from the store the moment each response is in: no later request helps it.
            expect((await store.inner.get(id))?.data).toEqual({ user: 'grace' })
            const reply = await app.post(q('/write', { set: { role: 'admin' }, respond: 'redirect' }), jar)
            expect(reply.status).toBe(302)
            expect((await store.inner.get(id))?.data).toEqual({ user: 'grace', role: 'admin' })
          } finally {
            store.slowWrites = false
            await app.server.close()
          }
        },
      )
    }

    lackingIt(harness, 'cacheControl')(
      'E10: a response that sets the session cookie is not storable by shared caches',
      async () => {
        const plain = await f.post(q('/cache', { set: { n: 1 } }))
        expect(plain.headers['cache-control']).toMatch(/private|no-store/)
        const publicReply = await f.post(q('/cache', { set: { n: 2 }, cacheControl: 'public, max-age=60' }))
        expect(f.emitted(publicReply)).toHaveLength(1)
        expect(publicReply.headers['cache-control']).toMatch(/private|no-store/)
        expect(publicReply.headers['cache-control']).not.toMatch(/public/)
      },
    )

    lackingIt(harness, 'cacheControl')(
      'E10: a response that clears the session cookie is not storable by shared caches either',
      async () => {
        for (const cacheControl of [undefined, 'public, max-age=60']) {
          const { jar } = await f.login({ user: 'ada' })
          const reply = await f.post(
            q('/cache', { destroy: '1', ...(cacheControl ? { cacheControl } : {}) }),
            jar,
          )
          expect(reply.status).toBe(200)
          expect(f.emitted(reply)).toHaveLength(1)
          expect(reply.headers['cache-control'], String(cacheControl)).toMatch(/private|no-store/)
          expect(reply.headers['cache-control'], String(cacheControl)).not.toMatch(/public/)
        }
      },
    )

    caseIt('E11: writing the value a key already holds is not a change', async () => {
      const { jar } = await f.login({ user: 'ada', cart: { items: [1] } })
      const reply = await f.post(q('/write', { set: { user: 'ada', cart: { items: [1] } } }), jar)
      expect(reply.status).toBe(200)
      expect(f.emitted(reply)).toEqual([])
    })
  })
}
