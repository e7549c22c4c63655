// The made-up framework and adapter the "Writing an adapter" samples are written against.
import type { IncomingMessage } from 'node:http'
import type { AnySession } from '@x/session-conformance-tests'

export interface Request extends IncomingMessage {
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
}
export interface Socket {
  on(event: 'message', listener: (data: unknown) => void): void
  send(data: string): void
}
export interface App {
  use(middleware: unknown): void
  route(method: string, path: string, handler: (req: Request, res: Response) => unknown): void
  websocket(path: string, handler: (socket: Socket, req: Request) => void): void
  listen(options: { host: string; port: number }): Promise<{ port: number; close(): Promise<void> }>
}
export declare function myFramework(): App
export declare function session(options: object): unknown
