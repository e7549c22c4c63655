import {
  isSessionId,
  type SessionChange,
  SessionError,
  SessionErrorCode,
  type SessionStore,
  type StoredSession,
  type StoreSetOptions,
} from '@x/session-core'
import { runCleanup, schedule } from './internal/cleanup.js'
import { type PostgresClientLike, runner } from './internal/client.js'
import { CLEANUP_BATCH_MAX, cleanupStatement, quoteNames, statement } from './internal/sql.js'
import { checkText, count, integer, invalid, ttlMs } from './internal/values.js'

/** Why a stored row was treated as missing. */
export type CorruptReason =
  /** The data column is not JSON, or not a JSON object. */
  | 'bad-data'
  /** A column other than the data is missing or not an integer. */
  | 'bad-fields'

/** Telemetry. Never carries a session id, a user or session data, so it can be logged as it is. */
export type PostgresStoreEvent =
  | { type: 'corrupt'; reason: CorruptReason }
  /** A scheduled cleanup failed (the database was down, say); the next one tries again. */
  | { type: 'cleanup-error'; error: unknown }

export interface PostgresStoreOptions {
  /**
   * A node-postgres `Pool` (or `Client`), or a postgres.js `sql` instance. The store never
   * connects, closes or reconfigures it; see the README for pool sizing and timeouts.
   */
  client: PostgresClientLike
  /** Schema of the table; quoted as an identifier, never pasted as SQL. @default 'public' */
  schema?: string
  /** The sessions table, as created by `createSessionTables()` or the shipped migration. @default 'x_session' */
  table?: string
  /**
   * Largest session data accepted, in bytes of its JSON (UTF-8). A bigger save rejects with a
   * `SessionError` `ERR_SESSION_TOO_LARGE` before anything is sent. @default 1048576
   */
  maxDataSize?: number
  /**
   * Seconds between two scheduled cleanups of expired rows (each wait is drawn between half and
   * one and a half times this); 0 turns them off (call `cleanup()` yourself). Expired rows are
   * never returned either way. @default 900
   */
  cleanupInterval?: number
  /** Rows one cleanup statement deletes at most. @default 1000 */
  cleanupBatch?: number
  /**
   * Prepare each statement once per connection (node-postgres: named statements; postgres.js:
   * `prepare: true`). Turn off behind a pooler that cannot keep prepared statements (PgBouncer
   * before 1.21 in transaction mode). @default true
   */
  prepare?: boolean
  /**
   * Seconds a statement may take before the operation rejects (the request then gets a 503 from
   * the session manager); 0 waits for as long as the driver does. See "When PostgreSQL is down".
   * @default 5
   */
  timeout?: number
  /**
   * Current time in epoch milliseconds. Rows expire by it, so a test that moves the session
   * manager's clock sees them expire: pass the same clock to both. @default Date.now
   */
  clock?: () => number
  /**
   * Called when a stored row cannot be read (it is then treated as missing and left alone) and
   * when a scheduled cleanup fails. @default a `console.warn` naming the reason
   */
  onEvent?: (event: PostgresStoreEvent) => void
}

export const postgresStoreDefaults = Object.freeze({
  maxDataSize: 1_048_576,
  cleanupInterval: 900,
  cleanupBatch: 1000,
  prepare: true,
  timeout: 5,
})

/** A `SessionStore` with the per-user index, and the cleanup of expired rows. */
export interface PostgresSessionStore extends Required<Omit<SessionStore, 'unsupported'>> {
  /**
   * Deletes expired rows now, in batches of `cleanupBatch` (each one statement, skipping rows
   * another transaction holds), until none is left or 100 batches ran. Returns how many went.
   */
  cleanup(): Promise<number>
  /** Stops the scheduled cleanup. The client is yours to close. */
  close(): void
}

const WHAT = 'postgresStore'

/**
 * A PostgreSQL session store for node-postgres and postgres.js. One statement per load, per
 * save (version-checked in that statement) and per touch; a per-user index; expired rows are
 * invisible at once and deleted by a bounded cleanup. The table must exist: see
 * `createSessionTables()` and the shipped migration.
 */
export function postgresStore(options: PostgresStoreOptions): PostgresSessionStore {
  if (options === null || typeof options !== 'object')
    invalid(WHAT, 'needs an options object: postgresStore({ client })')
  const prepare = options.prepare ?? postgresStoreDefaults.prepare
  if (typeof prepare !== 'boolean') invalid(WHAT, '`prepare` must be a boolean')
  const timeout = options.timeout ?? postgresStoreDefaults.timeout
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)
    invalid(WHAT, `timeout must be a number of seconds >= 0, got ${String(timeout)}`)
  const run = runner(options.client, { prepare, timeout }, WHAT)
  const t = quoteNames({ schema: options.schema, table: options.table }).session
  const maxDataSize = count(options.maxDataSize, postgresStoreDefaults.maxDataSize, `${WHAT}: maxDataSize`)
  const batch = count(
    options.cleanupBatch,
    postgresStoreDefaults.cleanupBatch,
    `${WHAT}: cleanupBatch`,
    CLEANUP_BATCH_MAX,
  )
  const interval = options.cleanupInterval ?? postgresStoreDefaults.cleanupInterval
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0)
    invalid(WHAT, `cleanupInterval must be a number of seconds >= 0, got ${String(interval)}`)
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function') invalid(WHAT, '`clock` must be a function')
  const onEvent = options.onEvent ?? warn
  if (typeof onEvent !== 'function') invalid(WHAT, '`onEvent` must be a function')

  const report = (event: PostgresStoreEvent): undefined => {
    try {
      onEvent(event)
    } catch {
      // Telemetry must not turn a readable "missing" into a failed request.
    }
    return undefined
  }

  const columns = '"id", "data", "created_at", "refreshed_at", "version", "user_id", "expires_at"'
  const update =
    '"data" = excluded."data", "created_at" = excluded."created_at", "refreshed_at" = excluded."refreshed_at", "version" = excluded."version", "user_id" = excluded."user_id", "expires_at" = excluded."expires_at"'
  const insert = `INSERT INTO ${t} AS s (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ("id") DO UPDATE SET ${update}`
  const sql = {
    get: statement(
      `SELECT "data", "created_at", "refreshed_at", "version", "user_id" FROM ${t} WHERE "id" = $1 AND "expires_at" > $2`,
    ),
    // No expected version: write whatever is there.
    put: statement(`${insert} RETURNING 1 AS "ok"`),
    // Expected version 0: only where no live row is; an expired one is replaced.
    create: statement(`${insert} WHERE s."expires_at" <= $8 RETURNING 1 AS "ok"`),
    // Expected version n: only the live row at version n; a row that is gone stays gone (L6).
    replace: statement(
      `UPDATE ${t} SET "data" = $2, "created_at" = $3, "refreshed_at" = $4, "version" = $5, "user_id" = $6, "expires_at" = $7 WHERE "id" = $1 AND "version" = $8 AND "expires_at" > $9 RETURNING 1 AS "ok"`,
    ),
    // The data column is not named: a touch cannot undo a save that landed since the load.
    touch: statement(
      `UPDATE ${t} SET "refreshed_at" = $2, "expires_at" = $3 WHERE "id" = $1 AND "expires_at" > $4`,
    ),
    // A request's change set merged into the stored data in one statement. The merge works on the
    // stored JSON's top-level members as raw text (json_each), so nested values are never
    // re-encoded, and the result is compact JSON, measured against maxDataSize before it is written.
    // Found but over the limit: "found" is 1 and "version" null, nothing written.
    apply: statement(
      `WITH cur AS (SELECT s."id", (SELECT '{' || COALESCE(string_agg(to_json(m."k")::text || ':' || m."v", ','), '') || '}' FROM (SELECT e."key" AS "k", e."value"::text AS "v" FROM json_each(s."data"::json) e WHERE e."key" NOT IN (SELECT json_array_elements_text($2::text::json)) AND e."key" NOT IN (SELECT json_object_keys($3::text::json)) UNION ALL SELECT n."key", n."value"::text FROM json_each($3::text::json) n) m) AS "merged" FROM ${t} s WHERE s."id" = $1 AND s."expires_at" > $9 FOR UPDATE), upd AS (UPDATE ${t} AS u SET "data" = cur."merged", "refreshed_at" = $4, "expires_at" = $5, "version" = u."version" + 1, "user_id" = CASE WHEN $6::boolean THEN $7::text ELSE u."user_id" END FROM cur WHERE u."id" = cur."id" AND octet_length(cur."merged") <= $8 RETURNING u."version") SELECT (SELECT count(*) FROM cur)::int AS "found", (SELECT "version" FROM upd) AS "version"`,
    ),
    delete: statement(`DELETE FROM ${t} WHERE "id" = $1`),
    list: statement(`SELECT "id" FROM ${t} WHERE "user_id" = $1 AND "expires_at" > $2`),
    deleteUser: statement(
      `WITH gone AS (DELETE FROM ${t} WHERE "user_id" = $1 RETURNING "expires_at") SELECT count(*) FILTER (WHERE "expires_at" > $2)::int AS "n" FROM gone`,
    ),
    cleanup: cleanupStatement(t),
  }

  const cleanup = () => runCleanup(run, sql.cleanup, clock, batch)
  const stop = schedule(interval, () =>
    cleanup().catch((error: unknown) => report({ type: 'cleanup-error', error })),
  )

  const store: PostgresSessionStore = {
    async get(id) {
      checkId(id)
      const [row] = await run(sql.get, [id, clock()])
      if (!row) return undefined
      const createdAt = integer(row.created_at)
      const refreshedAt = integer(row.refreshed_at)
      const version = integer(row.version)
      if (createdAt === undefined || refreshedAt === undefined || version === undefined)
        return report({ type: 'corrupt', reason: 'bad-fields' })
      const data = parseObject(row.data)
      if (!data) return report({ type: 'corrupt', reason: 'bad-data' })
      const record: StoredSession = { data, createdAt, refreshedAt, version }
      if (typeof row.user_id === 'string') record.user = row.user_id
      return record
    },

    async set(id, session, opts: StoreSetOptions) {
      checkId(id)
      const ttl = ttlMs(opts?.ttl, WHAT)
      const expected = opts.expectVersion
      if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0))
        invalid(WHAT, `expectVersion must be a non-negative integer, got ${String(expected)}`)
      for (const field of ['version', 'createdAt', 'refreshedAt'] as const) {
        if (!Number.isSafeInteger(session[field]))
          invalid(WHAT, `session.${field} must be an integer, got ${String(session[field])}`)
      }
      const user = session.user
      if (user !== undefined) checkText(user, "a session's user")
      const data = json(session.data)
      if (Buffer.byteLength(data) > maxDataSize) throw tooLarge(maxDataSize)
      const now = clock()
      const values: unknown[] = [
        id,
        data,
        session.createdAt,
        session.refreshedAt,
        session.version,
        user ?? null,
        now + ttl,
      ]
      const rows =
        expected === undefined
          ? await run(sql.put, values)
          : expected === 0
            ? await run(sql.create, [...values, now])
            : await run(sql.replace, [...values, expected, now])
      return rows.length === 1 ? 'ok' : 'conflict'
    },

    async apply(id, change, opts) {
      checkId(id)
      const ttl = ttlMs(opts?.ttl, WHAT)
      checkChange(change)
      const set = json(change.set)
      // Every key set is in the merged data, so a change that alone is too big is refused unsent.
      if (Buffer.byteLength(set) > maxDataSize) throw tooLarge(maxDataSize)
      const bind = change.bind
      if (bind && bind.user !== undefined) checkText(bind.user, "a session's user")
      const now = clock()
      let row: Record<string, unknown> | undefined
      try {
        ;[row] = await run(sql.apply, [
          id,
          JSON.stringify(change.remove),
          set,
          change.refreshedAt,
          now + ttl,
          bind !== undefined,
          bind?.user ?? null,
          maxDataSize,
          now,
        ])
      } catch (error) {
        // PostgreSQL's JSON functions refuse what JSON itself allows: "\u0000", lone surrogates.
        if (!isJsonDataError(error)) throw error
        return applyBySet(store, id, change, opts.ttl)
      }
      if (integer(row?.found) !== 1) return undefined
      const version = integer(row?.version)
      if (version === undefined) throw tooLarge(maxDataSize)
      return version
    },

    async delete(id) {
      checkId(id)
      await run(sql.delete, [id])
    },

    async touch(id, ttl, refreshedAt) {
      checkId(id)
      const ms = ttlMs(ttl, WHAT)
      if (!Number.isSafeInteger(refreshedAt))
        invalid(WHAT, `refreshedAt must be an integer, got ${String(refreshedAt)}`)
      const now = clock()
      await run(sql.touch, [id, refreshedAt, now + ms, now])
    },

    async listByUser(user) {
      checkText(user, 'user')
      const rows = await run(sql.list, [user, clock()])
      return rows.map((row) => String(row.id))
    },

    async deleteByUser(user) {
      checkText(user, 'user')
      const [row] = await run(sql.deleteUser, [user, clock()])
      return integer(row?.n) ?? 0
    },

    cleanup,
    close: stop,
  }
  return store
}

/** Attempts of the fallback merge below before it gives up under contention. */
const APPLY_ATTEMPTS = 20

/**
 * The merge of `apply` for data PostgreSQL's JSON functions cannot read ("\u0000" or a lone
 * surrogate in a string, both valid JSON): read, merge here, version-checked save, again on a
 * conflict. Two statements or more instead of one, for these rare sessions only.
 */
async function applyBySet(
  store: SessionStore,
  id: string,
  change: SessionChange,
  ttl: number,
): Promise<number | undefined> {
  for (let attempt = 0; attempt < APPLY_ATTEMPTS; attempt++) {
    const stored = await store.get(id)
    if (!stored) return undefined
    const data: Record<string, unknown> = { ...stored.data }
    for (const key of change.remove) delete data[key]
    for (const [key, value] of Object.entries(change.set)) {
      // A plain assignment of "__proto__" would replace the prototype instead of adding a key.
      Object.defineProperty(data, key, { value, writable: true, enumerable: true, configurable: true })
    }
    const version = stored.version + 1
    const user = change.bind ? change.bind.user : stored.user
    const record: StoredSession = {
      data,
      createdAt: stored.createdAt,
      refreshedAt: change.refreshedAt,
      version,
      ...(user === undefined ? {} : { user }),
    }
    if ((await store.set(id, record, { ttl, expectVersion: stored.version })) === 'ok') return version
  }
  throw new Error(`@x/session-postgres: ${WHAT}: apply() met a conflict ${APPLY_ATTEMPTS} times in a row`)
}

/** SQLSTATE class 22 (data exception): what PostgreSQL answers when it cannot decode a JSON string. */
function isJsonDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('22')
}

function checkChange(change: SessionChange): void {
  if (
    change === null ||
    typeof change !== 'object' ||
    change.set === null ||
    typeof change.set !== 'object' ||
    Array.isArray(change.set) ||
    !Array.isArray(change.remove) ||
    !change.remove.every((key) => typeof key === 'string')
  ) {
    invalid(WHAT, 'apply() takes { set: object, remove: string[], refreshedAt, bind? }')
  }
  if (!Number.isSafeInteger(change.refreshedAt))
    invalid(WHAT, `refreshedAt must be an integer, got ${String(change.refreshedAt)}`)
}

function tooLarge(maxDataSize: number): SessionError {
  return new SessionError(
    SessionErrorCode.TOO_LARGE,
    `${WHAT}: session data is over maxDataSize (${maxDataSize} bytes of JSON)`,
  )
}

function checkId(id: unknown): void {
  if (!isSessionId(id))
    throw new SessionError(SessionErrorCode.INVALID_ID, 'not a session id issued by this library')
}

function json(data: unknown): string {
  try {
    const value = JSON.stringify(data)
    if (typeof value === 'string' && value.startsWith('{')) return value
  } catch (cause) {
    throw new SessionError(
      SessionErrorCode.NOT_SERIALIZABLE,
      'session data must be JSON-serializable (no BigInt, no cycles)',
      { cause },
    )
  }
  return invalid(WHAT, 'session.data must be a plain object')
}

function parseObject(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'string') return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function warn(event: PostgresStoreEvent): void {
  console.warn(
    event.type === 'corrupt'
      ? `@x/session-postgres: a stored session could not be read (${event.reason}); it is treated as missing`
      : `@x/session-postgres: the cleanup of expired rows failed (${String((event.error as Error)?.message ?? event.error)}); it runs again later`,
  )
}
