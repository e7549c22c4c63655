// Stand-ins for the express-session stores the "express-session stores" page uses, which the docs
// do not install: only the constructors the samples call, typed as the packages document them.
declare module 'express-session' {
  const expressSession: { Store: new () => object }
  export default expressSession
}
declare module 'connect-redis' {
  import type { ConnectSessionStore } from '@x/session-core'
  export class RedisStore implements ConnectSessionStore {
    constructor(options: { client: unknown; prefix?: string; ttl?: number })
    get: ConnectSessionStore['get']
    set: ConnectSessionStore['set']
    destroy: ConnectSessionStore['destroy']
  }
}
declare module 'connect-pg-simple' {
  import type { ConnectSessionStore } from '@x/session-core'
  export default function connectPgSimple(
    session: unknown,
  ): new (options: {
    pool?: unknown
    conString?: string
    tableName?: string
  }) => ConnectSessionStore
}
declare module 'connect-mongo' {
  import type { ConnectSessionStore } from '@x/session-core'

  const MongoStore: {
    create(options: { mongoUrl?: string; client?: unknown; collectionName?: string }): ConnectSessionStore
  }
  export default MongoStore
}
