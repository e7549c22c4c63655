import { type OutgoingHttpHeaders, OutgoingMessage, STATUS_CODES } from 'node:http'
import { type CommitResult, type SessionCycle, SessionError } from '@x/session-core'
import type { Response } from 'express'
import type { Exchange } from './exchange.js'
import type { SessionData } from './index.js'

// How the session's headers reach the response's head, whichever way the app sends it: added as
// Node writes the head when the commit needs no waiting (commitAtHead), or the head and the bytes
// written before it held back until the commit resolves (deferHead). The middleware (index.ts)
// wraps the response with one of them once the session has changed.

/** Adds what the commit asks for to the response's headers, after the app's own. */
function applyResult(res: Response, result: CommitResult): void {
  for (const value of result.setCookie) res.appendHeader('Set-Cookie', value)
  for (const [name, value] of result.headers) res.setHeader(name, value)
  if (result.cacheControl) res.setHeader('Cache-Control', result.cacheControl)
}

/**
 * When the commit cannot need to wait (the cookie store on `node:crypto`), the session's headers
 * are added at the moment Node writes the head, which every way of sending a response goes
 * through (`end`, `write` and `flushHeaders` call `writeHead`): one patched method, and Node's own
 * `write`, `end` and `headersSent`. A commit that throws (a session too large for its cookies)
 * throws to whatever sends the response, as Node's own header errors do.
 */
export function commitAtHead(res: Response, cycle: SessionCycle<SessionData>, exchange: Exchange): void {
  const writeHead = res.writeHead as Fn
  res.writeHead = function (this: Response, ...args: unknown[]) {
    // Headers passed here replace the app's earlier ones, as in Node; set on `res`, the session's Set-Cookie joins them.
    const withReason = typeof args[1] === 'string'
    const headers = (withReason ? args[2] : args[1]) as OutgoingHttpHeaders | unknown[] | undefined
    if (headers) applyHeaders(this, headers)
    const result = cycle.commitSync(exchange)
    if (result) applyResult(this, result)
    return writeHead.apply(this, headers ? args.slice(0, withReason ? 2 : 1) : args)
  } as Response['writeHead']
}

type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders'
type Fn = (...args: unknown[]) => unknown
const sentGetter = Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, 'headersSent')!.get!
const headersSent = () =>
  Object.assign(new Error('Cannot set headers after they are sent'), { code: 'ERR_HTTP_HEADERS_SENT' })
/** `_header` while the head is held back: truthy, as Node's own head once it is out. */
const HELD_HEAD = 'HTTP/1.1 (held back until the session is saved)\r\n\r\n'

/**
 * Commits the session when the response's head is about to go out, so whatever sends it
 * (`res.json`, `redirect`, `sendFile`, streaming, error handlers) carries the cookie. When the
 * engine can commit in that tick (nothing to send, or a cookie-store seal on `node:crypto`), the
 * call goes straight through. Otherwise the response is held back until the commit resolves: to
 * the app the head counts as sent from its first `writeHead`/`write`/`end`/`flushHeaders`, as
 * without this (`headersSent` is true, which error handlers rely on, and header changes throw);
 * only the bytes wait.
 */
export function deferHead(res: Response, cycle: SessionCycle<SessionData>, exchange: Exchange): void {
  const r = res as unknown as Record<Method, Fn>
  const orig = { writeHead: r.writeHead, write: r.write, end: r.end, flushHeaders: r.flushHeaders }
  const queue: [Method, unknown[]][] = []
  let state = 'open' as 'open' | 'waiting' | 'done' | 'failed'
  let ended = false
  // Deferred writes return false, so a piped file is not read into memory while the store answers;
  // the 'drain' they promise comes once the bytes are handed to Node.
  let owesDrain = false

  const apply = (result: CommitResult) => applyResult(res, result)
  /**
   * While the head is held back, Node itself treats it as sent: its `_header` holds a placeholder,
   * so `headersSent` is true (error handlers rely on it) and `setHeader`, `setHeaders`,
   * `appendHeader` and `removeHeader` throw ERR_HTTP_HEADERS_SENT, as once a head is out. Every
   * way Node could write that placeholder (`writeHead`, `write`, `end`, `flushHeaders`) is
   * patched below and queued, and the placeholder is gone before a queued call reaches Node. No
   * property is added to the response for it: Express 5 gives each response its own hidden class
   * (`setPrototypeOf` per request), so each added property costs a new one (5-6 µs each on the
   * shared bench machine, Node 20). The three header guards and the `headersSent` property this
   * replaces cost 7.4 KB allocated per held response (Express contention scenario, Redis store:
   * 73.0 -> 65.6 KB per request).
   */
  const out = res as unknown as { _header: unknown }
  const holdHead = () => {
    out._header = HELD_HEAD
  }
  const releaseHead = () => {
    if (out._header === HELD_HEAD) out._header = null
  }

  /** Commits in this tick if the engine can; true when the head may go out now. */
  const commitNow = (): boolean => {
    let result: CommitResult | undefined
    try {
      result = cycle.commitSync(exchange)
      if (result) apply(result)
    } catch (error) {
      fail(SessionError.is(error) ? error.status : 500, error)
      return false
    }
    if (result) state = 'done'
    return result !== undefined
  }

  const settle = async (pending: Promise<CommitResult>, status: number) => {
    let result: CommitResult
    try {
      result = await pending
    } catch (error) {
      return fail(SessionError.is(error) ? error.status : 500, error)
    }
    state = 'done'
    releaseHead()
    try {
      apply(result)
      res.statusCode = status // a status set once the head counted as sent has no effect, as in Node
      let drained = true
      for (let call = queue.shift(); call; call = queue.shift()) {
        const ret = orig[call[0]].apply(res, call[1])
        if (call[0] === 'write') drained = ret as boolean
      }
      if (owesDrain && drained) res.emit('drain') // when Node's own write returned false, Node emits it
    } catch (error) {
      fail(500, error) // what Node would have thrown at the app (an invalid status code): too late for that
    }
  }

  /** Fail closed: the session was not saved, so the response the app made must not go out. */
  const fail = (status: number, error: unknown) => {
    state = 'failed'
    releaseHead()
    // Callbacks of calls never handed to Node learn that they failed, so no writer waits forever.
    for (const [, args] of queue.splice(0)) callbackOf(args)?.(error)
    try {
      if (sentGetter.call(res)) return void res.destroy()
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      const body = `${STATUS_CODES[status] ?? 'Error'}\n`
      // 500 and 503 are not cacheable unless marked so, which this response is not.
      const headers = {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      }
      orig.writeHead.call(res, status, STATUS_CODES[status] ?? 'Error', headers)
      orig.end.call(res, body)
      if (owesDrain) res.emit('drain')
    } catch {
      holdHead() // nothing more goes out: to the app the head counts as sent
      res.destroy()
    }
  }

  const start = (method: Method, args: unknown[]) => {
    queue.push([method, args])
    if (state !== 'open') return
    state = 'waiting'
    holdHead()
    // commitSync() found it had to wait and started the commit: this is that same commit.
    void settle(cycle.commit(exchange), res.statusCode)
  }

  const patch = (name: Method, deferred: (self: Response, args: unknown[]) => unknown) => {
    r[name] = function (this: Response, ...args: unknown[]) {
      if (state === 'open' && name !== 'writeHead') commitNow()
      return state === 'done' ? orig[name].apply(this, args) : deferred(this, args)
    }
  }
  patch('writeHead', (self, args) => {
    if (state === 'waiting') throw headersSent()
    if (state === 'failed') return self
    // Headers passed here replace the app's earlier ones, as in Node; set on `res`, the session's Set-Cookie joins them.
    const withReason = typeof args[1] === 'string'
    const headers = (withReason ? args[2] : args[1]) as OutgoingHttpHeaders | unknown[] | undefined
    if (headers) applyHeaders(self, headers)
    const head = args.slice(0, withReason ? 2 : 1)
    if (commitNow()) return orig.writeHead.apply(self, head)
    // commitNow() may have failed the response already (it reports through `state`).
    if ((state as string) !== 'failed') start('writeHead', head)
    return self
  })
  patch('write', (_self, args) => {
    if (state === 'failed' || ended) {
      callbackOf(args)?.(new Error('write after end'))
      return state === 'failed'
    }
    owesDrain = true
    start('write', args)
    return false
  })
  patch('end', (self, args) => {
    if (state !== 'failed' && !ended) start('end', args)
    ended = true
    return self
  })
  patch('flushHeaders', () => {
    if (state === 'open') start('flushHeaders', [])
  })
}

function applyHeaders(res: Response, headers: OutgoingHttpHeaders | unknown[]): void {
  if (!Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) if (name) res.setHeader(name, value as string)
    return
  }
  // Flat [name, value, ...]: a name listed replaces earlier values; repeats within the list add up.
  for (let i = 0; i < headers.length; i += 2) res.removeHeader(String(headers[i]))
  for (let i = 0; i < headers.length; i += 2) res.appendHeader(String(headers[i]), headers[i + 1] as string)
}

function callbackOf(args: unknown[]): ((error: unknown) => void) | undefined {
  const last = args.at(-1)
  return typeof last === 'function' ? (error) => process.nextTick(last as Fn, error) : undefined
}
