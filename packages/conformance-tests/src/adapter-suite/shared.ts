import {
  createSessionManager,
  type SessionEvent,
  type SessionManager,
  type SessionOptions,
} from '@x/session-core'
import { createTestClock, type TestClock } from '@x/session-core/testing'
import * as vitest from 'vitest'
import { describe, expect, it, type RunnerTestSuite } from 'vitest'
import { Jar, parseSetCookie, type Reply, send } from '../client.js'
import { conformanceRoutes, conformanceSockets, Gate } from '../routes.js'
import { type InstrumentedStore, instrument } from '../stores.js'
import type {
  AdapterHarness,
  ConformanceApp,
  RunningServer,
  StoreCase,
  UnsupportedFeature,
} from '../types.js'

// What every section of the adapter suite shares: its settings, the fixture (one running app and
// the means to drive it), and the helpers that read a reply.

export const SECRET = 'conformance-secret-0123456789-abcdefghij'
export const OTHER_SECRET = 'another-app-secret-0123456789-abcdefghij'
export const IDLE = 3600
export const ABSOLUTE = 7200
export const ROLLING = 600
export const NAME = 'session'
export const TOKEN_HEADER = 'X-Session-Token'

/** How the client carries its token: the cookie, or the opt-in header transport (`tokenHeader`). */
export type Transport = 'cookie' | 'header'

export interface Mode {
  name: string
  /** undefined: the cookie store. */
  store: StoreCase | undefined
}

/** One running app of the suite, with the means to drive and inspect it. */
export interface Fixture {
  server: RunningServer
  clock: TestClock
  store: InstrumentedStore | undefined
  events: SessionEvent[]
  gate: Gate
  /** Set when the fixture was started with a manager of its own (`{ manager }`). */
  manager: SessionManager | undefined
  transport: Transport
  get(path: string, jar?: Jar | string | readonly string[]): Promise<Reply>
  post(path: string, jar?: Jar | string | readonly string[], body?: string): Promise<Reply>
  /** A client with a session holding `data`. */
  login(data?: Record<string, unknown>): Promise<{ jar: Jar; id: string; reply: Reply }>
  /** A new client of this fixture's transport. */
  jar(): Jar
  /** The client's session token, whichever the transport. */
  token(jar: Jar): string | undefined
  /** What the reply sent of the session: its `Set-Cookie` lines, or the token header's value. */
  emitted(reply: Reply): string[]
}

/** Everything an error shows when logged: name, message, stack, own properties and its causes. */
export function described(error: Error, depth = 0): unknown {
  const cause = (error as { cause?: unknown }).cause
  return {
    ...error,
    name: error.name,
    message: error.message,
    stack: error.stack,
    cause: cause instanceof Error && depth < 5 ? described(cause, depth + 1) : cause,
  }
}

export function q(path: string, params: Record<string, unknown>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) search.set(k, typeof v === 'string' ? v : JSON.stringify(v))
  return `${path}?${search}`
}

/** The names of the cookies a reply sets, in order. */
export function names(reply: Reply): string[] {
  return reply.setCookie.map((h) => parseSetCookie(h).name)
}

export function sessionCookies(reply: Reply): string[] {
  return reply.setCookie.filter((h) => {
    const { name } = parseSetCookie(h)
    return name === NAME || name.startsWith(`${NAME}.`)
  })
}

export async function startFixture(
  harness: AdapterHarness,
  mode: Mode,
  extra: Partial<SessionOptions> = {},
  more: ConformanceApp['sessions'] = [],
  withManager = false,
  transport: Transport = 'cookie',
): Promise<Fixture> {
  const clock = createTestClock()
  const events: SessionEvent[] = []
  const gate = new Gate()
  const store = mode.store ? instrument(await mode.store.create(clock)) : undefined
  const options: SessionOptions = {
    secret: SECRET,
    store,
    clock,
    idleTimeout: IDLE,
    absoluteTimeout: ABSOLUTE,
    rolling: ROLLING,
    onEvent: (event) => events.push(event),
    ...(transport === 'header' ? { tokenHeader: TOKEN_HEADER } : {}),
    ...extra,
  }
  const manager = withManager ? createSessionManager(options) : undefined
  const server = await harness.start({
    sessions: [{ property: 'session', options: manager ? { manager } : options }, ...more],
    routes: conformanceRoutes(gate),
    sockets: conformanceSockets(),
  })
  const tokenKey = TOKEN_HEADER.toLowerCase()
  const call =
    (method: 'GET' | 'POST') =>
    async (path: string, jar: Jar | string | readonly string[] = fixture.jar(), body?: string) => {
      const reply =
        jar instanceof Jar
          ? await send(server.url + path, { method, headers: jar.requestHeaders(), body })
          : await send(server.url + path, { method, cookie: jar, body })
      // A request that came in through the header is never answered with the session cookie.
      if (transport === 'header') expect(sessionCookies(reply)).toEqual([])
      return reply
    }
  const fixture: Fixture = {
    server,
    clock,
    store,
    events,
    gate,
    manager,
    transport,
    get: call('GET'),
    post: call('POST'),
    async login(data = { user: 'ada' }) {
      const reply = await fixture.post(q('/write', { set: data }))
      expect(reply.status).toBe(200)
      const jar = fixture.jar().apply(reply)
      return { jar, id: reply.json().id as string, reply }
    },
    jar: () => new Jar(transport === 'header' ? { tokenHeader: TOKEN_HEADER } : {}),
    token: (jar) => (transport === 'header' ? jar.token : jar.get(NAME)),
    emitted(reply) {
      if (transport === 'cookie') return sessionCookies(reply)
      const value = reply.headers[tokenKey]
      return value === undefined ? [] : [String(value)]
    },
  }
  return fixture
}

type CurrentSuite = () => { suite?: RunnerTestSuite }
/**
 * The suite being collected. vitest 4.1 has it on `TestRunner` and deprecates `vitest/suite`, which
 * is all vitest 3 has: the suite runs on both.
 */
const getCurrentSuite: CurrentSuite =
  (vitest as { TestRunner?: { getCurrentSuite?: CurrentSuite } }).TestRunner?.getCurrentSuite ??
  ((await import('vitest/suite')) as { getCurrentSuite: CurrentSuite }).getCurrentSuite

/** A `lacking` group: the harness's reason, and which of its cases runs (see `lacking`). */
interface Declared {
  reason: string
  proof: string | undefined
  registered: boolean
}

/**
 * The `lacking` groups, by their suite. Cases are registered when vitest collects their own suite,
 * which for nested groups is after the `lacking` body has returned: so a case finds its group by
 * walking up its suites, not through a flag set around the body.
 */
const declaredGroups = new WeakMap<object, Declared>()

function declaredGroup(): Declared | undefined {
  for (let suite: RunnerTestSuite | undefined = getCurrentSuite().suite; suite; suite = suite.suite) {
    const found = declaredGroups.get(suite)
    if (found) return found
  }
  return undefined
}

/**
 * `it` for cases that may sit in a `lacking` group. Outside one it is vitest's `it`. Inside one, only
 * the group's proof case is registered, as `it.fails`: the rest would fail for the same reason.
 */
export function caseIt(name: string, body: () => Promise<void> | void): void {
  const declared = declaredGroup()
  if (declared === undefined) return void it(name, body)
  if (declared.registered || !(declared.proof === undefined || name.startsWith(declared.proof))) return
  declared.registered = true
  it.fails(`${name} (fails here, as declared)`, body)
}

/**
 * `describe`, or, when the harness declares that the framework lacks `feature`, a group that runs
 * one of its cases (`proof`: the first whose name starts with it; by default the first) and expects
 * it to fail. Nothing is skipped: the gap shows in every run's report with its reason, and a
 * declaration that stops being true (the framework gained the feature) fails the run until it is
 * removed. The group's cases must be registered through `caseIt`.
 */
export function lacking(
  harness: AdapterHarness,
  feature: UnsupportedFeature,
  proof?: string,
): (name: string, body: () => void) => void {
  const reason = harness.unsupported?.[feature]
  if (reason === undefined) return describe
  return (name, body) =>
    describe(`${name} (declared unsupported: ${reason})`, () => {
      const declared: Declared = { reason, proof, registered: false }
      const group = getCurrentSuite().suite
      if (group) declaredGroups.set(group, declared)
      it(`${feature}: one case of the group runs, expected to fail`, () => {
        expect(declared.registered, `no case of "${name}" starts with "${proof}"`).toBe(true)
      })
      body()
    })
}

/**
 * `it`, or, when the harness declares that the framework lacks `feature`, `it.fails` with the
 * reason in its name: the case runs and must fail (see `lacking`).
 */
export function lackingIt(
  harness: AdapterHarness,
  feature: UnsupportedFeature,
): (name: string, body: () => Promise<void>) => void {
  const reason = harness.unsupported?.[feature]
  if (reason === undefined) return caseIt
  return (name, body) => {
    // Inside a `lacking` group, the group decides which case runs.
    if (declaredGroup()) return caseIt(name, body)
    it.fails(`${name} (declared unsupported, fails here: ${reason})`, body)
  }
}
