import type { ManagerSource, Session, SessionStore } from '@x/session-core'

/** Any session the suite drives: untyped data. */
// biome-ignore lint/suspicious/noExplicitAny: the suite writes arbitrary JSON values
export type AnySession = Session<Record<string, any>>

/** What a route handler receives from the harness. */
export interface RouteContext {
  /** The session of each mounted middleware, by its `property` (the first one is also `session`). */
  sessions: Record<string, AnySession>
  session: AnySession
  /**
   * The first session reached a second way, not by reading the same property again: through the
   * adapter's `getSession()` (the request's async context). L8 proves both ways give one object.
   */
  sessionAgain: AnySession
  query: URLSearchParams
  /** Sets a response header through the framework's ordinary (overwriting) API, now. */
  setHeader(name: string, value: string | string[]): void
  /**
   * Performs the framework's logout idiom on the first mounted session, the way its users type it
   * (L10): Express `req.session = null`, Koa `ctx.session = null`, Fastify `request.session = null`,
   * Hono `c.set('session', null)`. Optional for harnesses written before it; the L10 cases fail,
   * saying so, when it is missing.
   */
  assignNull?(): void
}

/** What a handler asks the harness to send, using the framework's ordinary response API. */
export type RouteResult =
  /** `res.json` / `reply.send(obj)` / `ctx.body = obj` / `c.json(obj)`. Always with this status (default 200). */
  | { type: 'json'; body: unknown; status?: number }
  /** `res.redirect` / `reply.redirect` / `ctx.redirect` / `c.redirect`, status 302. */
  | { type: 'redirect'; location: string }
  /**
   * A streamed body: the first chunk is flushed to the client, then the rest follow (each after
   * `delayMs`). Node frameworks use a Readable (Express: `res.write`), Hono a ReadableStream.
   */
  | { type: 'stream'; chunks: string[]; delayMs?: number }
  /** The handler throws `new Error('boom')` (status 500 through the framework's error handling). */
  | { type: 'throw' }

export interface ConformanceRoute {
  method: 'GET' | 'POST'
  path: string
  handler(ctx: RouteContext): RouteResult | Promise<RouteResult>
}

export interface MountedSession {
  /** Where the adapter exposes it: `req[property]`, `ctx[property]`, `c.get(property)`. */
  property: string
  /**
   * Passed unchanged to the adapter's middleware factory (with `property`): core's options, or
   * `{ manager }` with a manager the suite built (every adapter accepts both through `resolveManager`).
   */
  options: ManagerSource
}

/** What a WebSocket message handler receives from the harness. */
export interface SocketContext {
  /**
   * The session of the upgrade request, as the adapter gives it to socket handlers: Express and Koa
   * `await middleware.upgrade(req)` in the server's `upgrade` listener; Fastify `request.session`
   * in a `{ websocket: true }` route; Hono `c.get(property)` in `upgradeWebSocket`'s callback.
   * One object for the life of the connection.
   */
  session: AnySession
}

/**
 * A WebSocket endpoint. The harness upgrades `GET path` with the framework's usual WebSocket
 * support, then answers each text message with what `onMessage` returns, as one text message.
 * `onMessage` never throws: failures come back as text.
 */
export interface ConformanceSocketRoute {
  path: string
  onMessage(ctx: SocketContext, message: string): Promise<string>
}

/** An app for the harness to serve: the sessions to mount (in order), the routes, the WebSocket endpoints. */
export interface ConformanceApp {
  sessions: readonly MountedSession[]
  routes: readonly ConformanceRoute[]
  sockets: readonly ConformanceSocketRoute[]
}

export interface RunningServer {
  /** Base URL, `http://127.0.0.1:<port>`. */
  url: string
  close(): Promise<void>
}

/**
 * What an adapter author writes to run the suite: start a real HTTP server on 127.0.0.1 (port 0)
 * that mounts each session middleware, then serves each route by calling its handler with the
 * request's sessions and rendering its result with the framework's ordinary response API.
 */
export interface AdapterHarness {
  /** Shown in test names, e.g. `express 5`. */
  name: string
  start(app: ConformanceApp): Promise<RunningServer>
  /**
   * How the suite makes a request that the framework reports as secure (C6), over the plain HTTP
   * it speaks: the request headers a proxy the app trusts would add, with the app `start()` serves
   * configured to trust it (Express `app.set('trust proxy', 'loopback')`, Fastify `trustProxy`,
   * Koa `app.proxy = true`, Hono `session({ trustProxy: true })`). Without it the C6 case for
   * secure requests fails, saying so: a harness that cannot make one proves nothing about them.
   * @example { headers: { 'X-Forwarded-Proto': 'https' } }
   */
  secureRequest?: { headers: Record<string, string> }
  /**
   * What the framework cannot do at all, each with the reason: the cases that need it are listed
   * as skipped, with the reason in their name, instead of failing or passing falsely. For
   * frameworks whose limits no adapter can lift (Next.js has no WebSocket server); never for
   * something the adapter could do.
   */
  unsupported?: Partial<Record<UnsupportedFeature, string>>
}

/** Features a framework may lack (see `AdapterHarness.unsupported`). */
export type UnsupportedFeature =
  /**
   * A logout idiom that assigns to where the session is exposed (`req.session = null`): for
   * frameworks that expose it through a function call only (L10, and L9's idiom case).
   */
  | 'logoutIdiom'
  /** WebSocket endpoints (the `WebSocket` cases). */
  | 'webSocket'
  /** `getSession()` from the `/context` subpath (the `getSession()` cases). */
  | 'contextAccessor'
  /** The `tokenHeader` transport (the `header transport` cases). */
  | 'headerTransport'
  /** Setting the response's `Cache-Control` along with the cookie (E10). */
  | 'cacheControl'
  /**
   * An `Expires` computed from the session's clock (E9 then checks `Max-Age` and the other
   * attributes, not the `Expires` instant): for frameworks that recompute it from `Max-Age`.
   */
  | 'sessionClockExpires'
  /** Answering a thrown error with the session's cookie and the error's status (E6 on throw, S7's 503). */
  | 'thrownErrors'

/** A store to run the adapter suite over, besides the cookie store. */
export interface StoreCase {
  name: string
  /** A fresh store; `clock` is the suite's clock, for stores that keep time themselves. */
  create(clock: () => number): SessionStore | Promise<SessionStore>
  /** Called after the cases for this store, to release connections. */
  dispose?(): Promise<void>
}

export interface AdapterSuiteOptions {
  /** Server stores to run every case over as well as the cookie store. @default [memory store] */
  stores?: readonly StoreCase[]
  /** Fuzz cases for the Cookie-header property test (T8). @default 1000 */
  fuzzRuns?: number
}
