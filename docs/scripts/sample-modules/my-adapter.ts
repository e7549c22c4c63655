// The made-up framework and adapter the "Writing an adapter" samples are written against.
import type { IncomingMessage, Server } from 'node:http'
import type { AnySession } from '@x/session-conformance-tests'
import type { UpgradeRequest } from '@x/session-core'

export interface Request extends IncomingMessage {
  url: string
  session: AnySession
  // Sessions mounted under other properties (`req.admin`), as a framework that allows any would.
  // biome-ignore lint/suspicious/noExplicitAny: a stand-in for whatever the framework declares
  [property: string]: any
}
export interface Response {
  status(code: number): Response
  json(body: unknown): void
  redirect(status: number, location: string): void
  setHeader(name: string, value: string | string[]): void
  stream(chunks: readonly string[], delayMs?: number): void
}
export interface Socket {
  on(event: 'message', listener: (data: unknown) => void): void
  send(data: string): void
}
export interface App {
  use(middleware: unknown): void
  route(method: string, path: string, handler: (req: Request, res: Response) => unknown): void
  websocket(path: string, handler: (socket: Socket, req: Request) => void): void
  listen(port: number, host: string): Server
}
export declare function myFramework(options?: { trustProxy?: boolean }): App
export interface Middleware {
  (req: Request, res: Response, next: () => Promise<void>): Promise<void>
  upgrade(req: UpgradeRequest): Promise<AnySession>
}
export declare function session(options: object): Middleware
