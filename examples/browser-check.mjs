#!/usr/bin/env node
/**
 * The demo and the docs site in a real Chromium (Debian's, driven by playwright-core): the demo's
 * flows on a wide and a phone-width screen, and the built docs site's home page and search. One
 * line per check; exits non-zero on any failure.
 *
 *   pnpm docs:build && pnpm test:browser
 *
 * CHROMIUM_PATH overrides /usr/bin/chromium. Without a Chromium this exits 0 with a note, except
 * under CI=true, where it fails. SCREENSHOT_DIR keeps the demo's screenshots (wide.png, narrow.png).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = fileURLToPath(new URL('.', import.meta.url))
const docsDist = join(here, '..', 'docs', '.vitepress', 'dist')
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const STEP_LIMIT_MS = 15_000

if (!existsSync(executablePath)) {
  const reason = `no Chromium at ${executablePath} (Debian: apt-get install -y chromium; or set CHROMIUM_PATH)`
  if (process.env.CI) {
    console.error(`FAIL ${reason}`)
    process.exit(1)
  }
  console.log(`skip browser checks: ${reason}`)
  process.exit(0)
}

let passed = 0
let failed = 0
async function check(name, run) {
  try {
    await run()
    passed++
    console.log(`ok   ${name}`)
  } catch (error) {
    failed++
    console.log(`FAIL ${name}: ${String(error?.message ?? error).split('\n')[0]}`)
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** Starts `command`, resolves with the child once its output matches `ready`. */
function serve(command, args, options, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} did not start: ${output.slice(-500)}`))
    }, 30_000)
    const onData = (chunk) => {
      output += chunk
      if (ready.test(output)) {
        clearTimeout(timer)
        resolve(child)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${command} exited (${code}): ${output.slice(-500)}`))
    })
  })
}

const children = []
const profile = await mkdtemp(join(tmpdir(), 'browser-check-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1280, height: 900 },
})
context.setDefaultTimeout(STEP_LIMIT_MS)

try {
  // --- the demo ----------------------------------------------------------------------------
  const demoPort = await freePort()
  children.push(
    await serve(
      process.execPath,
      [join(here, 'demo.mjs')],
      { env: { ...process.env, PORT: String(demoPort) } },
      /demo: http/,
    ),
  )
  const demo = `http://127.0.0.1:${demoPort}/`
  const page = await context.newPage()
  const text = (id) => page.locator(`#${id}`).innerText()
  /** Clicks, then waits for the inspector to show this request (the history grows by one). */
  const act = async (locator) => {
    // The history keeps the last 20 entries: a new one shows as a new first item, not a longer list.
    await page.evaluate(() => {
      window.__lastEntry = document.querySelector('#history li')
    })
    await locator.click()
    await page.waitForFunction(() => {
      const first = document.querySelector('#history li')
      return first !== null && first !== window.__lastEntry
    })
  }
  const button = (name) => page.getByRole('button', { name, exact: true })

  await check('demo: the first visit starts a session and says why the cookie went out', async () => {
    await page.goto(demo)
    await page.waitForSelector('#history li')
    expect((await text('r-sent')).startsWith('yes: new'), `Set-Cookie: ${await text('r-sent')}`)
    expect((await text('r-key')) === 'demo1', `key id ${await text('r-key')}`)
    expect(/^\d+ bytes in 1 cookie$/.test(await text('r-size')), `size ${await text('r-size')}`)
    expect((await text('r-changed')) === 'visits', `changed ${await text('r-changed')}`)
    expect(!Number.isNaN(Date.parse(await text('r-expiry'))), `expiry ${await text('r-expiry')}`)
  })
  await check('demo: the session cookie is HttpOnly (not in document.cookie)', async () => {
    const cookies = await page.evaluate(() => document.cookie)
    expect(!/(^|; )session=/.test(cookies), `document.cookie: ${cookies}`)
    const jar = await context.cookies(demo)
    expect(
      jar.some((c) => c.name === 'session' && c.httpOnly),
      'no HttpOnly session cookie in the jar',
    )
  })
  await check('demo: a change is sent (changed), a plain read sends nothing (none)', async () => {
    await act(button('Count a visit'))
    expect((await text('r-sent')).startsWith('yes: changed'), `visit: ${await text('r-sent')}`)
    await act(button('Just read'))
    expect((await text('r-sent')).startsWith('no: none'), `read: ${await text('r-sent')}`)
    expect(JSON.parse(await text('session')).data.visits === 2, `data: ${await text('session')}`)
  })
  let idBefore
  await check('demo: login gives a new id, escapes the name and flashes once', async () => {
    idBefore = JSON.parse(await text('session')).id
    await page.getByLabel('Name').fill('<b>Ann</b>')
    await act(button('Log in'))
    const session = JSON.parse(await text('session'))
    expect(session.id !== idBefore, 'the id did not change on login')
    expect((await text('summary')) === 'Signed in as <b>Ann</b>.', `summary: ${await text('summary')}`)
    expect((await page.locator('#summary b').count()) === 0, 'the name was rendered as HTML')
    expect((await page.locator('.notice').innerText()).includes('shown once'), 'no flash notice')
    await act(button('Just read'))
    expect((await page.locator('.notice').count()) === 0, 'the flash was shown twice')
  })
  await check('demo: the session survives a reload', async () => {
    await page.reload()
    await page.waitForSelector('#history li')
    expect((await text('summary')) === 'Signed in as <b>Ann</b>.', `after reload: ${await text('summary')}`)
  })
  await check('demo: 3 KB more splits the cookie into chunks, dropping it joins them again', async () => {
    await act(button('Add 3 KB'))
    expect(/ in 2 chunks$/.test(await text('r-size')), `size: ${await text('r-size')}`)
    await act(button('Drop the 3 KB'))
    expect(/ in 1 cookie$/.test(await text('r-size')), `size: ${await text('r-size')}`)
    expect((await text('r-changed')) === 'notes', `changed: ${await text('r-changed')}`)
  })
  await check('demo: a tampered cookie gives "no session"', async () => {
    await button('Tamper with the cookie').click()
    await page.locator('.nosession').waitFor()
    await act(button('Just read'))
    expect((await text('r-incoming')).includes('did not open (invalid: bad-seal)'), await text('r-incoming'))
    expect((await text('summary')).startsWith('No session yet'), `summary: ${await text('summary')}`)
    expect(JSON.parse(await text('session')).data.user === undefined, 'the tampered session still has a user')
  })
  await check('demo: the memory store carries only a sealed id in its own cookie', async () => {
    await act(button('Memory store'))
    await act(button('Count a visit'))
    expect((await text('r-sent')).startsWith('yes: new'), `Set-Cookie: ${await text('r-sent')}`)
    expect((await text('store-note')).includes('Memory store'), await text('store-note'))
    const jar = await context.cookies(demo)
    expect(
      jar.some((c) => c.name === 'sid' && c.httpOnly),
      'no sid cookie',
    )
  })
  await check('demo: logout clears the cookie (cleared)', async () => {
    await act(button('Log out'))
    expect((await text('r-sent')).startsWith('yes: cleared'), `Set-Cookie: ${await text('r-sent')}`)
    expect(
      (await context.cookies(demo)).every((c) => c.name !== 'sid'),
      'sid still in the jar',
    )
  })
  const shots = process.env.SCREENSHOT_DIR
  if (shots) await mkdir(shots, { recursive: true })
  await check('demo: fits a wide screen', async () => {
    await act(button('Cookie store'))
    await act(button('Count a visit'))
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow <= 0, `${overflow}px wider than the window`)
    if (shots) await page.screenshot({ path: join(shots, 'wide.png'), fullPage: true })
  })
  await check('demo: fits a phone-width screen (390 px)', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await act(button('Add 3 KB'))
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow <= 0, `${overflow}px wider than the window`)
    const box = await page.locator('#session').boundingBox()
    expect(
      box && box.x >= 0 && box.x + box.width <= 390,
      `the session box runs off screen: ${JSON.stringify(box)}`,
    )
    for (const id of ['session', 'r-headers']) {
      const hidden = await page.locator(`#${id}`).evaluate((el) => el.scrollWidth - el.clientWidth)
      expect(hidden <= 0, `#${id} hides ${hidden}px behind a horizontal scroll`)
    }
    if (shots) await page.screenshot({ path: join(shots, 'narrow.png'), fullPage: true })
  })

  // --- the docs site -----------------------------------------------------------------------
  if (!existsSync(join(docsDist, 'index.html'))) {
    await check('docs: built', () => {
      throw new Error(`no ${docsDist}: run pnpm docs:build first`)
    })
  } else {
    const docsPort = await freePort()
    const vitepress = join(here, '..', 'docs', 'node_modules', '.bin', 'vitepress')
    children.push(
      await serve(
        vitepress,
        ['preview', '--host', '127.0.0.1', '--port', String(docsPort)],
        { cwd: join(here, '..', 'docs') },
        /served at|Local:/,
      ),
    )
    const docs = await context.newPage()
    await docs.setViewportSize({ width: 1280, height: 900 })
    await check('docs: the home page shows the hero and links to the guide', async () => {
      await docs.goto(`http://127.0.0.1:${docsPort}/`)
      expect((await docs.locator('.VPHero .name').innerText()).includes('@x/session'), 'no hero name')
      await docs.getByRole('link', { name: 'Get started' }).first().click()
      await docs.waitForURL(/\/guide\/getting-started/)
      const h1 = await docs.locator('.vp-doc h1').first().innerText()
      expect(h1.startsWith('Getting started'), `not the guide: ${h1}`)
    })
    await check('docs: search finds the key rotation runbook', async () => {
      await docs.locator('.DocSearch-Button, .VPNavBarSearchButton').first().click()
      await docs.locator('#localsearch-input').fill('runbook')
      const hit = docs.locator('.VPLocalSearchBox .result').filter({ hasText: 'Rotating keys' }).first()
      await hit.waitFor()
      await hit.click()
      await docs.waitForURL(/\/recipes\/key-rotation/)
    })
  }
} finally {
  await context.close()
  for (const child of children) child.kill('SIGTERM')
  await rm(profile, { recursive: true, force: true })
}

console.log(`${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
