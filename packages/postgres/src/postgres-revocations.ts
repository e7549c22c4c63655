import type { RevocationStore } from '@x/session-core'
import { runCleanup, schedule } from './internal/cleanup.js'
import { type PostgresClientLike, runner } from './internal/client.js'
import { CLEANUP_BATCH_MAX, cleanupStatement, quoteNames, statement } from './internal/sql.js'
import { checkText, count, integer, invalid, ttlMs } from './internal/values.js'

export interface PostgresRevocationsOptions {
  /** A node-postgres `Pool` (or `Client`), or a postgres.js `sql` instance. */
  client: PostgresClientLike
  /** Schema of the table; quoted as an identifier. @default 'public' */
  schema?: string
  /** The revocations table, as created by `createSessionTables()`. @default 'x_session_revocation' */
  table?: string
  /** Seconds between scheduled cleanups of expired rows; 0 turns them off. @default 900 */
  cleanupInterval?: number
  /** Rows one cleanup statement deletes at most. @default 1000 */
  cleanupBatch?: number
  /** Prepare each statement once per connection; see `postgresStore`. @default true */
  prepare?: boolean
  /**
   * Seconds a statement may take before the operation rejects (the request then gets a 503 from
   * the session manager); 0 waits for as long as the driver does. See "When PostgreSQL is down".
   * @default 5
   */
  timeout?: number
  /** Current time in epoch milliseconds; pass the session manager's. @default Date.now */
  clock?: () => number
  /** Called when a scheduled cleanup fails. @default a `console.warn` */
  onEvent?: (event: { type: 'cleanup-error'; error: unknown }) => void
}

/** A `RevocationStore` in PostgreSQL, with the cleanup of expired rows. */
export interface PostgresRevocationStore extends RevocationStore {
  /** Deletes expired revocations now, in bounded batches; returns how many went. */
  cleanup(): Promise<number>
  /** Stops the scheduled cleanup. The client is yours to close. */
  close(): void
}

/**
 * Revocation subjects are the engine's `u:<user>` and `s:<session id>`: a user (at most 1024
 * characters) with its prefix fits here.
 */
const MAX_SUBJECT_LENGTH = 1100
const WHAT = 'postgresRevocations'

/**
 * "Log out everywhere" for cookie-store sessions, kept in PostgreSQL: `createSessionManager({
 * revocations: postgresRevocations({ client }) })`. A table has no entry limit, so no revocation is
 * ever dropped to make room; each is kept until its ttl ends, and a later, earlier or shorter one
 * never lowers it.
 */
export function postgresRevocations(options: PostgresRevocationsOptions): PostgresRevocationStore {
  if (options === null || typeof options !== 'object')
    invalid(WHAT, 'needs an options object: postgresRevocations({ client })')
  const prepare = options.prepare ?? true
  if (typeof prepare !== 'boolean') invalid(WHAT, '`prepare` must be a boolean')
  const timeout = options.timeout ?? 5
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)
    invalid(WHAT, `timeout must be a number of seconds >= 0, got ${String(timeout)}`)
  const run = runner(options.client, { prepare, timeout }, WHAT)
  const t = quoteNames({ schema: options.schema, revocationTable: options.table }).revocation
  const batch = count(options.cleanupBatch, 1000, `${WHAT}: cleanupBatch`, CLEANUP_BATCH_MAX)
  const interval = options.cleanupInterval ?? 900
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0)
    invalid(WHAT, `cleanupInterval must be a number of seconds >= 0, got ${String(interval)}`)
  const clock = options.clock ?? Date.now
  if (typeof clock !== 'function') invalid(WHAT, '`clock` must be a function')
  const onEvent = options.onEvent ?? warn
  if (typeof onEvent !== 'function') invalid(WHAT, '`onEvent` must be a function')

  const sql = {
    // Subjects travel as one JSON array, so any number of them is one statement with one text;
    // typed as text, since postgres.js would JSON-encode a value it is told is json a second time.
    get: statement(
      `SELECT "subject", "not_before" FROM ${t} WHERE "subject" IN (SELECT json_array_elements_text($1::text::json)) AND "expires_at" > $2`,
    ),
    // A live row only ever goes up, in time and in ttl; an expired one is replaced outright.
    set: statement(
      `INSERT INTO ${t} AS r ("subject", "not_before", "expires_at") VALUES ($1, $2, $3) ON CONFLICT ("subject") DO UPDATE SET "not_before" = CASE WHEN r."expires_at" <= $4 THEN excluded."not_before" ELSE GREATEST(r."not_before", excluded."not_before") END, "expires_at" = GREATEST(r."expires_at", excluded."expires_at")`,
    ),
    cleanup: cleanupStatement(t),
  }
  const cleanup = () => runCleanup(run, sql.cleanup, clock, batch)
  const stop = schedule(interval, () =>
    cleanup().catch((error: unknown) => {
      try {
        onEvent({ type: 'cleanup-error', error })
      } catch {
        // Telemetry must not fail the timer.
      }
    }),
  )

  return {
    async get(subjects) {
      if (!Array.isArray(subjects)) invalid(WHAT, 'get() takes an array of subjects')
      for (const subject of subjects) checkText(subject, 'a revocation subject', MAX_SUBJECT_LENGTH)
      if (subjects.length === 0) return []
      const rows = await run(sql.get, [JSON.stringify(subjects), clock()])
      const kept = new Map(rows.map((row) => [String(row.subject), integer(row.not_before)]))
      return subjects.map((subject) => kept.get(subject))
    },

    async set(subject, notBefore, ttl) {
      checkText(subject, 'a revocation subject', MAX_SUBJECT_LENGTH)
      if (!Number.isSafeInteger(notBefore))
        invalid(WHAT, `notBefore must be an integer (epoch ms), got ${String(notBefore)}`)
      const now = clock()
      await run(sql.set, [subject, notBefore, now + ttlMs(ttl, WHAT), now])
    },

    cleanup,
    close: stop,
  }
}

function warn(event: { error: unknown }): void {
  console.warn(
    `@x/session-postgres: the cleanup of expired revocations failed (${String((event.error as Error)?.message ?? event.error)}); it runs again later`,
  )
}
