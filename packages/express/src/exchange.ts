import type { IncomingMessage } from 'node:http'
import type { RequestInfo, ResponseInfo } from '@x/session-core'
import type { Request, Response } from 'express'

/**
 * What the engine reads of the request and the response, in one object per request. `secure` and
 * `cacheControl` are getters, asked only when a cookie goes out: Express's `req.secure` consults
 * the proxy settings, a cost that a request sending nothing need not pay.
 */
export class Exchange implements RequestInfo, ResponseInfo {
  readonly #req: Request
  readonly #res: Response
  readonly cookieHeader: string | undefined
  readonly headers: IncomingMessage['headers']
  constructor(req: Request, res: Response) {
    this.#req = req
    this.#res = res
    this.headers = req.headers
    this.cookieHeader = req.headers.cookie
  }
  get secure(): boolean {
    return this.#req.secure
  }
  get cacheControl(): string | undefined {
    const value = this.#res.getHeader('Cache-Control')
    return value === undefined ? undefined : [value].flat().join(', ')
  }
  /** The head is out, or held back for a commit under way: a change now could not go with it. */
  get sent(): boolean {
    return this.#res.headersSent
  }
}
