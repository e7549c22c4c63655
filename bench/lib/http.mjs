/** Plain HTTP checks that run before and after each measurement: a scenario must do what it claims. */

export class ScenarioError extends Error {}

/** A minimal cookie jar: the last Set-Cookie of a name wins; an empty value or Max-Age=0 deletes. */
export function applySetCookie(jar, setCookies) {
  const next = new Map(jar)
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';')
    const eq = pair.indexOf('=')
    if (eq <= 0) continue
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a))
    if (value === '' || expired) next.delete(name)
    else next.set(name, value)
  }
  return next
}

export const cookieHeader = (jar) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ')

/** GET `path`; returns status, parsed JSON body (or text) and the Set-Cookie lines. */
export async function get(base, path, cookie) {
  const response = await fetch(base + path, { headers: cookie ? { cookie } : {} })
  const text = await response.text()
  let body = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, body, setCookie: response.headers.getSetCookie() }
}

export function expect(condition, message, detail) {
  if (!condition) {
    const extra = detail === undefined ? '' : `: ${JSON.stringify(detail).slice(0, 400)}`
    throw new ScenarioError(`${message}${extra}`)
  }
}

const user = (i) => `user-${String(i).padStart(6, '0')}`

/** Creates `count` sessions through /seed and returns their Cookie headers (one per connection). */
export async function seed(base, count) {
  const cookies = []
  for (let i = 0; i < count; i++) {
    const r = await get(base, `/seed?i=${i}`)
    expect(r.status === 200, `/seed answered ${r.status}`, r.body)
    expect(r.setCookie.length > 0, '/seed sent no Set-Cookie: no session was created')
    const jar = applySetCookie(new Map(), r.setCookie)
    expect(jar.size > 0, '/seed sent only cookie deletions', r.setCookie)
    cookies.push(cookieHeader(jar))
  }
  return cookies
}

/**
 * The checks of each kind of scenario. `cookies` are the seeded sessions (read and write).
 * - bare, untouched: 200, no Set-Cookie (untouched: and the middleware is really mounted)
 * - read: the session is there (the seeded user comes back) and no Set-Cookie is sent
 * - read-any: the session is there (the seeded user comes back), whatever was written since
 * - write: a Set-Cookie is sent, and the written value reads back through the new cookie
 */
export async function verify(kind, base, cookies) {
  if (kind === 'bare' || kind === 'bare-cookie' || kind === 'floor' || kind === 'untouched') {
    const r = await get(base, '/untouched')
    expect(r.status === 200 && r.body?.ok === true, `/untouched answered ${r.status}`, r.body)
    expect(r.setCookie.length === 0, '/untouched sent a Set-Cookie', r.setCookie)
    if (kind === 'untouched') {
      const w = await get(base, '/write')
      expect(w.status === 200, `/write answered ${w.status}`, w.body)
      expect(w.setCookie.length > 0, 'the session middleware is not mounted: /write sent no Set-Cookie')
    }
    return
  }
  if (kind === 'read') {
    for (let i = 0; i < cookies.length; i++) {
      // Twice: the first read may fill a cache that the second one uses.
      for (let pass = 0; pass < 2; pass++) {
        const r = await get(base, '/read', cookies[i])
        expect(r.status === 200, `/read answered ${r.status}`, r.body)
        expect(r.body?.user === user(i), `/read did not get the session back (expected ${user(i)})`, r.body)
        expect(r.setCookie.length === 0, 'an unchanged /read sent a Set-Cookie', r.setCookie)
      }
    }
    return
  }
  if (kind === 'read-any') {
    // The sessions are still there, whatever their values are now.
    for (let i = 0; i < cookies.length; i++) {
      const r = await get(base, '/read', cookies[i])
      expect(r.status === 200, `/read answered ${r.status}`, r.body)
      expect(r.body?.user === user(i), `/read did not get the session back (expected ${user(i)})`, r.body)
    }
    return
  }
  if (kind === 'write' || kind === 'contention') {
    const jar = new Map(
      cookies[0].split('; ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
    )
    const w = await get(base, '/write', cookies[0])
    expect(w.status === 200 && typeof w.body?.n === 'number', `/write answered ${w.status}`, w.body)
    expect(w.setCookie.length > 0, '/write sent no Set-Cookie')
    const after = applySetCookie(jar, w.setCookie)
    const r = await get(base, '/read', cookieHeader(after))
    expect(
      r.status === 200 && r.body?.n === w.body.n && r.body?.user === user(0),
      `the written value did not read back through the new cookie (expected n=${w.body.n})`,
      r.body,
    )
    return
  }
  throw new Error(`unknown scenario kind ${kind}`)
}
