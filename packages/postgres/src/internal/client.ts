import { SessionError, SessionErrorCode } from '@x/session-core'

/**
 * What node-postgres `Pool`, `Client` and `PoolClient` have in common: `query` with a config
 * object (named statements are prepared once per connection).
 */
export interface PgLike {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[] }>
}

/** What a postgres.js `sql` instance (or `sql.reserve()`, a transaction's `sql`) has: `unsafe`. */
export interface PostgresJsLike {
  unsafe(query: string, parameters?: never[], options?: { prepare?: boolean }): PromiseLike<unknown>
}

/** A node-postgres `Pool` / `Client`, or a postgres.js `sql` instance. */
export type PostgresClientLike = PgLike | PostgresJsLike

/** One SQL statement of this package: a fixed text, and the name it is prepared under. */
export interface Statement {
  readonly name: string
  readonly text: string
}

/** The one thing the stores need from a client: run one statement, get its rows. */
export type Runner = (statement: Statement, values: unknown[]) => Promise<Record<string, unknown>[]>

/**
 * Detects the client by shape, as the Redis store does, so neither driver is a dependency.
 * postgres.js' `sql` is a function (a tagged template) with `unsafe`; node-postgres has `query`.
 */
export function runner(
  client: unknown,
  options: { prepare: boolean; timeout: number },
  what: string,
): Runner {
  const run = bind(client, options.prepare, what)
  return options.timeout > 0 ? bounded(run, options.timeout, what) : run
}

function bind(client: unknown, prepare: boolean, what: string): Runner {
  if (typeof client === 'function' && typeof (client as Partial<PostgresJsLike>).unsafe === 'function') {
    const sql = client as unknown as PostgresJsLike
    return async (statement, values) =>
      (await sql.unsafe(statement.text, values as never[], { prepare })) as Record<string, unknown>[]
  }
  if (client && typeof client === 'object' && typeof (client as Partial<PgLike>).query === 'function') {
    const pg = client as PgLike
    return async (statement, values) => {
      const result = await pg.query(
        prepare ? { name: statement.name, text: statement.text, values } : { text: statement.text, values },
      )
      return result.rows as Record<string, unknown>[]
    }
  }
  throw new SessionError(
    SessionErrorCode.INVALID_OPTION,
    `${what}: \`client\` must be a node-postgres Pool or Client (new Pool() from "pg") or a postgres.js instance (postgres() from "postgres")`,
  )
}

/**
 * Rejects a statement that has not answered within `seconds`. postgres.js has no client-side
 * query timeout, and a frozen server keeps its sockets open (the kernel still acknowledges TCP
 * keepalives), so without this a request would wait for as long as the server is frozen. The
 * statement itself is not cancelled: a save that times out may still land, version-checked.
 */
function bounded(run: Runner, seconds: number, what: string): Runner {
  const ms = seconds * 1000
  return (statement, values) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`@x/session-postgres: ${what}: no answer within ${seconds} s`)),
        ms,
      )
      run(statement, values).then(
        (rows) => {
          clearTimeout(timer)
          resolve(rows)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
}
