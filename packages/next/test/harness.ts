import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { AdapterHarness, ConformanceApp, RunningServer } from '@x/session-conformance-tests'
import { fixtures, nextCli } from './global-setup.js'

const require = createRequire(import.meta.url)
const nextVersion: string = require('next/package.json').version

/**
 * Serves a built fixture with `next start` as a child process, the way it runs in production.
 * Resolves once it answers HTTP.
 */
export async function nextStart(major: keyof typeof fixtures): Promise<RunningServer> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    process.execPath,
    [nextCli(major), 'start', fixtures[major].dir, '-H', '127.0.0.1', '-p', String(port)],
    { env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' }, stdio: 'ignore' },
  )
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', (code) => fail(new Error(`next start exited with ${code}`))),
  )
  // Bounded by count, not time: each attempt waits for a connection refusal or an answer.
  for (let attempt = 0; ; attempt++) {
    try {
      await Promise.race([fetch(`${url}/login`), exited])
      break
    } catch (error) {
      if (attempt >= 200 || child.exitCode !== null) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url,
    close: async () => {
      if (child.exitCode !== null) return
      const gone = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await gone
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

const kApps = Symbol.for('@x/session-next.conformance-apps')

/**
 * The conformance suite's apps, served by the built fixture's catch-all Route Handler
 * (`app/conformance/[...path]/route.ts`). The suite's handlers are functions, so the fixture runs
 * in this process, through Next.js's own production server (`next({ dev: false })`, what
 * `next start` runs), and each app's definition waits on `globalThis` under an id in its URL.
 * One Next.js server for the whole file: starting it is the costly part.
 */
export function nextHarness(via: 'cookies' | 'request'): AdapterHarness & { close(): Promise<void> } {
  const global = globalThis as Record<symbol, Map<string, ConformanceApp & { via: typeof via }>>
  global[kApps] ??= new Map()
  const apps = global[kApps]
  let server: Promise<{ url: string; http: Server }> | undefined
  const boot = async () => {
    const { default: next } = (await import('next')) as unknown as {
      default: (options: object) => {
        prepare(): Promise<void>
        getRequestHandler(): Parameters<typeof createServer>[1]
      }
    }
    const app = next({ dev: false, dir: fixtures[16].dir, hostname: '127.0.0.1', quiet: true })
    await app.prepare()
    const http = createServer(app.getRequestHandler())
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, http }
  }
  return {
    name: `next ${nextVersion} (Route Handler, ${via === 'cookies' ? 'getSession() through cookies()' : 'getSession(request, response)'})`,
    // Next.js reports X-Forwarded-Proto from the connection unless a proxy sent one, as here.
    secureRequest: { headers: { 'X-Forwarded-Proto': 'https' } },
    unsupported: {
      logoutIdiom: 'the session comes from a getSession() call, not a property an app could assign null to',
      webSocket: 'Next.js serves no WebSocket upgrades from its routes',
      contextAccessor: "none needed: this package's getSession() is request-scoped by Next.js itself",
      thrownErrors:
        'Next.js answers an error thrown by a Route Handler with its own 500, without the cookies set before it',
      ...(via === 'cookies'
        ? {
            headerTransport: 'cookies() cannot set a response header: use getSession(request, response)',
            cacheControl: 'cookies() cannot set Cache-Control: the Route Handler sets it on its response',
            sessionClockExpires: "Next.js's cookie store recomputes Expires from Max-Age on its own clock",
          }
        : {}),
    },
    async start(def) {
      server ??= boot()
      const { url } = await server
      const id = randomUUID()
      apps.set(id, { ...def, via })
      return {
        url: `${url}/conformance/${id}`,
        close: async () => {
          apps.delete(id)
        },
      }
    },
    async close() {
      if (!server) return
      const { http } = await server
      await new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeAllConnections()
      })
    },
  }
}
