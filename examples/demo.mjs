// The demo: a small session inspector on Express. `pnpm start`, then open the printed URL.
// Each button sends one request; the page then shows what that response did with the session:
// whether Set-Cookie went out and why, the cookie's size and chunks, the key id and expiry its seal
// carries, and the keys that changed. Set SESSION_SECRET (32+ characters) to keep sessions across
// restarts.

import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { inspectSeal, memoryStore, session } from '@x/session-express'
import express from 'express'

const page = readFileSync(new URL('./inspector.html', import.meta.url), 'utf8')

// A key map, so the seal names the key that made it (a single secret seals with an empty key id).
const secret = { demo1: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex') }

/** Each store the page can switch to, with the cookie that carries it. */
const STORES = {
  cookie: { cookieName: 'session', label: 'cookie store', store: undefined },
  memory: { cookieName: 'sid', label: 'memory store', store: memoryStore() },
}

// What the engine reported while serving a request (an unopened cookie and why), per request.
const requestEvents = new AsyncLocalStorage()

/** What each of the last responses did, by the id the page sent with its request. */
const reports = new Map()
const MAX_REPORTS = 500

const app = express()
app.disable('x-powered-by')
app.use(express.json({ limit: '16kb' }))

app.get('/', (_req, res) => {
  res.type('html').send(page)
})

app.get('/report/:id', (req, res) => {
  const report = reports.get(req.params.id)
  if (!report) return res.status(404).json({ error: 'no such request' })
  res.json(report)
})

for (const [name, config] of Object.entries(STORES)) {
  const router = express.Router()
  // Outside the session middleware: rewrites the session cookie with one character changed, as an
  // attacker (or a proxy that mangles cookies) would. The next request must find no session.
  router.post('/tamper', (req, res) => {
    const cookies = parseCookies(req.headers.cookie)
    const names = Object.keys(cookies).filter((n) => isOwnCookie(n, config.cookieName))
    if (names.length === 0) return res.json({ tampered: false })
    const target = names.sort()[0]
    const value = cookies[target]
    const at = Math.floor(value.length / 2)
    const flipped = value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1)
    res.cookie(target, flipped, { httpOnly: true, sameSite: 'lax', path: '/', encode: String })
    res.json({ tampered: true, cookie: target })
  })

  router.use((req, res, next) => {
    const events = []
    requestEvents.run(events, () => {
      track(req, res, config, events)
      next()
    })
  })
  router.use(
    session({
      secret,
      store: config.store,
      cookie: { name: config.cookieName },
      // Short enough to watch: a session idle for 10 minutes ends; after 20 s a read re-sends it.
      idleTimeout: 600,
      rolling: 20,
      onEvent: (event) => requestEvents.getStore()?.push(event),
    }),
  )
  router.use((req, _res, next) => {
    // What the handler starts from: the change it makes is measured against this.
    req.demoBefore = { id: req.session.id, isNew: req.session.isNew, data: snapshot(req.session) }
    next()
  })

  router.post('/visit', (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1
    res.json(view(req))
  })
  router.post('/read', (req, res) => {
    res.json(view(req))
  })
  router.post('/login', async (req, res) => {
    const user = String(req.body?.name ?? '')
      .trim()
      .slice(0, 40)
    if (!user) return res.status(400).json({ error: 'a name is required' })
    // A new id on every privilege change: the old cookie cannot be used to ride along.
    await req.session.regenerate({ keep: true })
    req.session.user = user
    req.session.flash('notice', `Welcome, ${user}. This message is shown once.`)
    res.json(view(req))
  })
  router.post('/logout', async (req, res) => {
    await req.session.destroy()
    res.json({ session: null })
  })
  router.post('/grow', (req, res) => {
    // About 3 KB more in the seal: past one cookie's 4 KB, the cookie store splits into chunks.
    req.session.notes = [...(req.session.notes ?? []), randomBytes(2200).toString('base64')]
    res.json(view(req))
  })
  router.post('/shrink', (req, res) => {
    delete req.session.notes
    res.json(view(req))
  })
  app.use(`/api/${name}`, router)
}

/** The session as the page shows it, flash messages read (and so removed) once. */
function view(req) {
  const notices = req.session.flash('notice')
  return {
    session: {
      id: req.session.id,
      isNew: req.session.isNew,
      expiresAt: req.session.expiresAt,
      data: JSON.parse(JSON.stringify(req.session)),
    },
    notices,
  }
}

function snapshot(data) {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, JSON.stringify(v)]))
}

/** Records, once the response has gone, what it sent of the session and why. */
function track(req, res, config, events) {
  const id = String(req.headers['x-demo-request'] ?? '')
  if (!/^[\w-]{1,64}$/.test(id)) return
  const sent = parseCookies(req.headers.cookie)
  const requestToken = joinChunks(sent, config.cookieName)
  res.on('finish', () => {
    const lines = [res.getHeader('set-cookie') ?? []].flat().map(String)
    const own = lines.filter((line) => isOwnCookie(line.slice(0, line.indexOf('=')), config.cookieName))
    const clearing = (line) => /;\s*Max-Age=0(;|$)/i.test(line)
    // The cookies that carry the session now, without those the response clears (stale chunks).
    const set = Object.fromEntries(
      own
        .filter((line) => !clearing(line))
        .map((line) => {
          const [pair] = line.split(';', 1)
          const eq = pair.indexOf('=')
          return [pair.slice(0, eq), pair.slice(eq + 1)]
        }),
    )
    const cleared = own.length > 0 && own.every(clearing)
    const token = cleared ? undefined : joinChunks(set, config.cookieName)
    const before = req.demoBefore
    const after = req.session && !cleared ? snapshot(req.session) : {}
    const keys = new Set([...Object.keys(before?.data ?? {}), ...Object.keys(after)])
    const changedKeys = cleared ? [] : [...keys].filter((k) => before?.data?.[k] !== after[k])
    const idChanged =
      before !== undefined && req.session !== undefined && !cleared && req.session.id !== before.id
    const previousSeal = inspectSeal(requestToken)
    const seal = inspectSeal(token)
    let why = 'none'
    if (own.length === 0) why = 'none'
    else if (cleared) why = 'cleared'
    else if (before?.isNew) why = 'new'
    else if (changedKeys.length > 0 || idChanged) why = 'changed'
    else if (previousSeal && seal && previousSeal.keyId !== seal.keyId) why = 'rotated'
    else why = 'refresh'
    reports.set(id, {
      store: config.label,
      method: req.method,
      path: req.originalUrl,
      status: res.statusCode,
      setCookie: own.map((line) => line.replace(/^([^=;]+=[^;]{24})[^;]+/, '$1…')),
      why,
      cookieBytes: token?.length ?? 0,
      chunks: Object.keys(set).length,
      keyId: seal?.keyId,
      expiresAt: seal?.expiresAt,
      changedKeys,
      newId: idChanged,
      requestCookie: requestToken === undefined ? 'none' : previousSeal ? 'sealed' : 'unreadable',
      events: events.map((e) => ({ type: e.type, reason: e.reason, keyId: e.keyId })),
    })
    if (reports.size > MAX_REPORTS) reports.delete(reports.keys().next().value)
  })
}

/** `name=value` pairs of a Cookie header, values as sent. */
function parseCookies(header) {
  const out = {}
  for (const part of String(header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 1) continue
    const key = part.slice(0, eq).trim()
    if (!(key in out)) out[key] = part.slice(eq + 1).trim()
  }
  return out
}

const isOwnCookie = (candidate, name) => candidate === name || new RegExp(`^${name}\\.\\d+$`).test(candidate)

/** The session cookie's value: the plain cookie, or its chunks `name.0`, `name.1`, ... joined. */
function joinChunks(cookies, name) {
  if (cookies[`${name}.0`] === undefined) return cookies[name] || undefined
  let value = ''
  for (let i = 0; cookies[`${name}.${i}`] !== undefined; i++) value += cookies[`${name}.${i}`]
  return value
}

const port = Number(process.env.PORT ?? 3000)
const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const { address, port: bound } = server.address()
  console.log(`@x/session demo: http://${address}:${bound}/  (Ctrl+C to stop)`)
})
