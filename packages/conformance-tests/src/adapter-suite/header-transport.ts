import { afterAll, beforeAll, expect } from 'vitest'
import { Jar, send } from '../client.js'
import type { AdapterHarness } from '../types.js'
import {
  caseIt,
  type Fixture,
  type Mode,
  NAME,
  q,
  sessionCookies,
  startFixture,
  TOKEN_HEADER,
} from './shared.js'

/** What only the header transport has: its coexistence with the cookie, and its own bad input. */
export function defineHeaderCases(harness: AdapterHarness, mode: Mode): void {
  let f: Fixture
  beforeAll(async () => {
    f = await startFixture(harness, mode, {}, [], false, 'header')
  })
  afterAll(() => f?.server.close())

  caseIt('header transport: a request without the header still gets the cookie', async () => {
    const reply = await send(`${f.server.url}${q('/write', { set: { user: 'ada' } })}`, { method: 'POST' })
    expect(sessionCookies(reply)).toHaveLength(1)
    expect(reply.headers[TOKEN_HEADER.toLowerCase()]).toBeUndefined()
    const next = await send(`${f.server.url}/read?key=user`, { cookie: new Jar().apply(reply).header() })
    expect(next.json()).toMatchObject({ isNew: false, value: 'ada' })
  })

  caseIt('header transport: a request with the header ignores its cookie, and never clears it', async () => {
    const cookieJar = new Jar().apply(
      await send(`${f.server.url}${q('/write', { set: { user: 'ada' } })}`, { method: 'POST' }),
    )
    const reply = await send(`${f.server.url}/read?key=user`, {
      cookie: cookieJar.header(),
      headers: { [TOKEN_HEADER]: '' },
    })
    expect(reply.json()).toMatchObject({ isNew: true, has: false })
    expect(reply.setCookie).toEqual([])
    expect(reply.headers[TOKEN_HEADER.toLowerCase()]).toBeUndefined()
  })

  caseIt('C5: a token in the query string is never read (header transport)', async () => {
    const { jar } = await f.login({ user: 'ada' })
    const token = encodeURIComponent(jar.token ?? '')
    const reply = await f.get(`/read?key=user&${TOKEN_HEADER}=${token}&${NAME}=${token}`)
    expect(reply.json()).toMatchObject({ isNew: true, has: false })
  })

  caseIt('T1: a changed character in the header token is no session, and not a 500', async () => {
    const { jar } = await f.login({ user: 'ada' })
    const token = jar.token ?? ''
    for (const at of [0, 7, Math.floor(token.length / 2), token.length - 1]) {
      const bad = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
      const reply = await send(`${f.server.url}/read?key=user`, { headers: { [TOKEN_HEADER]: bad } })
      expect(reply.status, `position ${at}`).toBe(200)
      expect(reply.json().isNew, `position ${at}`).toBe(true)
    }
  })

  caseIt(
    'header transport: with cookie: false, a request without the header is answered in the header',
    async () => {
      const only = await startFixture(harness, mode, { tokenHeader: { name: TOKEN_HEADER, cookie: false } })
      try {
        const reply = await send(`${only.server.url}${q('/write', { set: { user: 'ada' } })}`, {
          method: 'POST',
        })
        expect(reply.setCookie).toEqual([])
        const token = reply.headers[TOKEN_HEADER.toLowerCase()]
        expect(typeof token).toBe('string')
        const next = await send(`${only.server.url}/read?key=user`, {
          headers: { [TOKEN_HEADER]: String(token) },
        })
        expect(next.json()).toMatchObject({ isNew: false, value: 'ada' })
        // Its cookie is not read either.
        const asCookie = await send(`${only.server.url}/read?key=user`, {
          cookie: `${NAME}=${String(token)}`,
        })
        expect(asCookie.json()).toMatchObject({ isNew: true, has: false })
      } finally {
        await only.server.close()
      }
    },
  )
}
