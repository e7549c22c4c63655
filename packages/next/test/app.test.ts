import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nextStart } from './harness.js'

/**
 * The fixture app, built by `next build` (global-setup.ts) and served by `next start`, on Next.js
 * 16 and 15, driven as a browser without JavaScript would: forms post to their Server Actions,
 * redirects are read, not followed, so each response's cookies can be checked.
 */
describe.each([16, 15] as const)('a Next.js %i app (next build, next start)', (major) => {
  let server: Awaited<ReturnType<typeof nextStart>>
  beforeAll(async () => {
    server = await nextStart(major)
  })
  afterAll(() => server?.close())

  const get = (path: string, cookie?: string) =>
    fetch(server.url + path, { redirect: 'manual', headers: cookie ? { cookie } : {} })

  /** Submits the page's form (its Server Action, through the hidden action-id field) with `fields`. */
  async function submit(path: string, cookie: string | undefined, fields: Record<string, string> = {}) {
    const html = await (await get(path, cookie)).text()
    const action = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(html)?.[1]
    expect(action).toBeDefined()
    const form = new FormData()
    form.set(action as string, '')
    for (const [name, value] of Object.entries(fields)) form.set(name, value)
    return fetch(server.url + path, {
      method: 'POST',
      body: form,
      redirect: 'manual',
      headers: cookie ? { cookie } : {},
    })
  }

  /** The `name=value` of the session cookie a response sets, or undefined. */
  function sessionCookie(reply: Response): string | undefined {
    return reply.headers
      .getSetCookie()
      .find((header) => header.startsWith('session='))
      ?.split(';')[0]
  }

  /** The visible text of an element with this id (React separates text parts with comments). */
  function text(html: string, id: string): string | undefined {
    return new RegExp(`id="${id}">(.*?)</`).exec(html)?.[1]?.replaceAll('<!-- -->', '')
  }

  it('log in through a Server Action, read in a Server Component after the redirect', async () => {
    const login = await submit('/login', undefined, { name: 'ada' })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/')
    const cookie = sessionCookie(login)
    expect(cookie).toMatch(/^session=Fe26\.2\*/)

    const home = await get('/', cookie)
    expect(text(await home.text(), 'who')).toBe('Signed in as ada')
    // Reading changes nothing: no cookie goes out (E3).
    expect(home.headers.getSetCookie()).toEqual([])
  })

  it('a Server Action that saves without redirecting: the page rendered after it in the same request reads the write', async () => {
    const cookie = sessionCookie(await submit('/login', undefined, { name: 'ada' }))
    const counted = await submit('/counter', cookie)
    expect(counted.status).toBe(200)
    expect(text(await counted.text(), 'count')).toBe('1')
    const next = sessionCookie(counted)
    expect(next).toBeDefined()
    expect(text(await (await get('/counter', next)).text(), 'count')).toBe('1')
  })

  it('a Route Handler writes the session; the next page reads the write', async () => {
    const cookie = sessionCookie(await submit('/login', undefined, { name: 'ada' }))
    const visit = await fetch(`${server.url}/api/visits`, {
      method: 'POST',
      headers: { cookie: cookie ?? '' },
    })
    expect(await visit.json()).toEqual({ visits: 1 })
    const next = sessionCookie(visit)
    expect(next).toBeDefined()
    expect(text(await (await get('/', next)).text(), 'visits')).toBe('1')
    // An unchanged read through a Route Handler sends nothing either.
    const read = await get('/api/visits', next)
    expect(await read.json()).toEqual({ visits: 1 })
    expect(read.headers.getSetCookie()).toEqual([])
  })

  it("C6: with secure: 'auto' the cookie is Secure exactly when the request came over HTTPS", async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/visits`, { method: 'POST', headers })
    const plain = (await post({})).headers.getSetCookie()
    expect(plain).toHaveLength(1)
    expect(plain[0]).not.toMatch(/;\s*Secure/i)
    const proxied = (await post({ 'x-forwarded-proto': 'https' })).headers.getSetCookie()
    expect(proxied).toHaveLength(1)
    expect(proxied[0]).toMatch(/;\s*Secure/i)
  })

  it('middleware on the Edge runtime guards a page by the session', async () => {
    const anonymous = await get('/dashboard')
    expect(anonymous.status).toBe(307)
    expect(new URL(anonymous.headers.get('location') ?? '', server.url).pathname).toBe('/login')
    const forged = await get('/dashboard', 'session=Fe26.2**forged')
    expect(forged.status).toBe(307)

    const cookie = sessionCookie(await submit('/login', undefined, { name: 'grace' }))
    const page = await get('/dashboard', cookie)
    expect(page.status).toBe(200)
    expect(text(await page.text(), 'dashboard')).toBe('Dashboard of grace')
  })

  it('a write while a Server Component renders fails with ERR_SESSION_COOKIES_READ_ONLY and sends nothing', async () => {
    const cookie = sessionCookie(await submit('/login', undefined, { name: 'ada' }))
    const page = await get('/render-write', cookie)
    expect(text(await page.text(), 'outcome')).toBe('ERR_SESSION_COOKIES_READ_ONLY')
    expect(page.headers.getSetCookie()).toEqual([])
  })

  it("the Pages Router: an API route writes through Node's req/res, getServerSideProps reads", async () => {
    const cookie = sessionCookie(await submit('/login', undefined, { name: 'ada' }))
    const api = await fetch(`${server.url}/api/pages-visits`, {
      method: 'POST',
      headers: { cookie: cookie ?? '' },
    })
    expect(await api.json()).toEqual({ user: 'ada', visits: 1 })
    // The Pages Router lets the adapter set Cache-Control along with the cookie (E10).
    expect(api.headers.get('cache-control')).toMatch(/private|no-store/)
    const next = sessionCookie(api)
    expect(next).toBeDefined()
    const again = await get('/api/pages-visits', next)
    expect(await again.json()).toEqual({ user: 'ada', visits: 1 })
    expect(again.headers.getSetCookie()).toEqual([])
    expect(text(await (await get('/props', next)).text(), 'props-user')).toBe('ada')
  })

  it('log out through a Server Action: the cookie is cleared and the guard closes again', async () => {
    const cookie = sessionCookie(await submit('/login', undefined, { name: 'ada' }))
    const logout = await submit('/', cookie)
    expect(logout.status).toBe(303)
    expect(logout.headers.get('location')).toBe('/login')
    const cleared = logout.headers.getSetCookie().filter((header) => header.startsWith('session='))
    expect(cleared).toHaveLength(1)
    expect(cleared[0]).toMatch(/^session=;.*Max-Age=0/)
    expect((await get('/dashboard', 'session=')).status).toBe(307)
    expect(text(await (await get('/', 'session=')).text(), 'who')).toBe('Signed out')
  })
})
