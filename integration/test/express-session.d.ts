// express-session's own types (@types/express-session) augment Express's Request with a `session`
// of their own, which clashes with @x/session-express's in this workspace: the little these tests
// use of it is declared here instead.
declare module 'express-session' {
  import type { RequestHandler } from 'express'

  interface Store {
    get(sid: string, callback: (error: unknown, session?: unknown) => void): void
    set(sid: string, session: unknown, callback?: (error?: unknown) => void): void
    destroy(sid: string, callback?: (error?: unknown) => void): void
  }
  interface Options {
    secret: string | string[]
    store?: Store
    resave?: boolean
    saveUninitialized?: boolean
    cookie?: { maxAge?: number }
  }
  interface ExpressSession {
    (options: Options): RequestHandler
    MemoryStore: new () => Store
  }
  const expressSession: ExpressSession
  export default expressSession
  export type { Store }
}
