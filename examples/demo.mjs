// The demo: an Express app on the default cookie store. `pnpm start`, then open the printed URL.
// Set SESSION_SECRET (32+ characters) to keep sessions across restarts.

import { session } from '@x/session-express'
import express from 'express'

const app = express()
app.use(express.urlencoded({ extended: false }))
app.use(session({ secret: process.env.SESSION_SECRET }))

const html = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  )

app.get('/', (req, res) => {
  req.session.visits = (req.session.visits ?? 0) + 1
  const user = req.session.user
  // Flash messages: left by the previous request, shown once.
  const notices = req.session.flash('notice')
  res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>@x/session demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>
<body>
<h1>@x/session demo</h1>
${notices.map((notice) => `<p role="status"><strong>${html(notice)}</strong></p>`).join('')}
<p>You have visited this page <strong>${req.session.visits}</strong> time(s) in this session.</p>
${
  user
    ? `<p>Signed in as <strong>${html(user)}</strong>.</p>
<form method="post" action="/logout"><button>Log out</button></form>`
    : `<form method="post" action="/login">
<label>Name <input name="name" required maxlength="40" autocomplete="username"></label>
<button>Log in</button></form>`
}
<h2>What the session holds</h2>
<pre>${html(JSON.stringify({ id: req.session.id, isNew: req.session.isNew, expiresAt: req.session.expiresAt, data: req.session }, null, 2))}</pre>
<p>The data travels in the <code>session</code> cookie, encrypted and signed (iron, Fe26.2). Nothing is kept on the server.</p>
</body></html>`)
})

app.post('/login', async (req, res) => {
  const name = String(req.body?.name ?? '')
    .trim()
    .slice(0, 40)
  if (!name) return res.redirect(303, '/')
  // A new id on every privilege change: the old cookie cannot be used to ride along.
  await req.session.regenerate({ keep: true })
  req.session.user = name
  req.session.flash('notice', `Welcome, ${name}. This message is shown once.`)
  res.redirect(303, '/')
})

app.post('/logout', async (req, res) => {
  await req.session.destroy()
  res.redirect(303, '/')
})

const port = Number(process.env.PORT ?? 3000)
const server = app.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const { address, port: bound } = server.address()
  console.log(`@x/session demo: http://${address}:${bound}/  (Ctrl+C to stop)`)
})
