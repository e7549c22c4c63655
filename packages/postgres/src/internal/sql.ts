import { createHash } from 'node:crypto'
import { SessionError, SessionErrorCode } from '@x/session-core'
import type { Statement } from './client.js'

/**
 * Longest table name accepted, in bytes. PostgreSQL silently truncates identifiers to 63 bytes;
 * the index names add up to 13 bytes to the table's name, and must stay distinct after truncation.
 */
const MAX_TABLE_BYTES = 50
const MAX_IDENTIFIER_BYTES = 63
/** With the `u` flag a surrogate pair is one code point, so this matches only a lone surrogate. */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/** Where the tables live. Every name is an identifier, quoted when used, never pasted raw. */
export interface TableNames {
  schema: string
  table: string
  revocationTable: string
}

export const tableDefaults: Readonly<TableNames> = Object.freeze({
  schema: 'public',
  table: 'x_session',
  revocationTable: 'x_session_revocation',
})

/**
 * Checks a schema or table name and returns it double-quoted, with inner quotes doubled: any
 * spelling (`My Sessions`, `a"b`, `sessions; DROP TABLE users`) is one identifier, never SQL.
 * Refused: empty names, NUL (PostgreSQL cannot store it), lone surrogates (not UTF-8), and names
 * PostgreSQL would truncate into a collision.
 */
export function identifier(name: unknown, option: string, maxBytes = MAX_IDENTIFIER_BYTES): string {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.includes('\0') ||
    LONE_SURROGATE.test(name) ||
    Buffer.byteLength(name) > maxBytes
  ) {
    throw new SessionError(
      SessionErrorCode.INVALID_OPTION,
      `@x/session-postgres: \`${option}\` must be a name of 1 to ${maxBytes} bytes without NUL, got ${JSON.stringify(String(name))}`,
    )
  }
  return `"${name.replaceAll('"', '""')}"`
}

/** The names, checked and quoted, ready to be placed in statements. */
export interface QuotedNames {
  session: string
  revocation: string
  userIndex: string
  expiresIndex: string
  revocationExpiresIndex: string
}

export function quoteNames(names: Partial<TableNames> = {}): QuotedNames {
  const schema = identifier(names.schema ?? tableDefaults.schema, 'schema')
  const table = names.table ?? tableDefaults.table
  const revocationTable = names.revocationTable ?? tableDefaults.revocationTable
  identifier(table, 'table', MAX_TABLE_BYTES)
  identifier(revocationTable, 'revocationTable', MAX_TABLE_BYTES)
  return {
    session: `${schema}.${identifier(table, 'table')}`,
    revocation: `${schema}.${identifier(revocationTable, 'revocationTable')}`,
    // Index names are unqualified: an index always lives in its table's schema.
    userIndex: identifier(`${table}_user_idx`, 'table'),
    expiresIndex: identifier(`${table}_expires_idx`, 'table'),
    revocationExpiresIndex: identifier(`${revocationTable}_expires_idx`, 'revocationTable'),
  }
}

/**
 * The migration: both tables and their indexes. Idempotent (IF NOT EXISTS). The file shipped as
 * `@x/session-postgres/migration.sql` is this text for the default names (a test keeps them equal).
 *
 * - `id` uses the "C" collation: ids are ASCII, and byte order makes the primary key's
 *   comparisons cheaper than a locale's.
 * - `data` is `text`, not `jsonb`: the store never queries inside it, text keeps it byte for byte
 *   and skips a parse on every write, and jsonb refuses strings holding `\u0000` that JSON allows.
 * - Times are epoch milliseconds (`bigint`) from the application's clock, as in the session
 *   manager, so expiry means the same thing to both.
 */
export function migrationSql(names: Partial<TableNames> = {}): string {
  const q = quoteNames(names)
  return `-- @x/session-postgres: the tables of postgresStore() and postgresRevocations().
-- Idempotent: safe to run on every deploy. Times are epoch milliseconds.

CREATE TABLE IF NOT EXISTS ${q.session} (
  "id" text COLLATE "C" PRIMARY KEY,
  "data" text NOT NULL,
  "created_at" bigint NOT NULL,
  "refreshed_at" bigint NOT NULL,
  "version" bigint NOT NULL,
  "user_id" text,
  "expires_at" bigint NOT NULL
);

-- listByUser / deleteByUser ("log out everywhere"): only bound sessions are indexed.
CREATE INDEX IF NOT EXISTS ${q.userIndex} ON ${q.session} ("user_id") WHERE "user_id" IS NOT NULL;

-- The cleanup finds expired rows without scanning the table.
CREATE INDEX IF NOT EXISTS ${q.expiresIndex} ON ${q.session} ("expires_at");

CREATE TABLE IF NOT EXISTS ${q.revocation} (
  "subject" text PRIMARY KEY,
  "not_before" bigint NOT NULL,
  "expires_at" bigint NOT NULL
);

CREATE INDEX IF NOT EXISTS ${q.revocationExpiresIndex} ON ${q.revocation} ("expires_at");
`
}

/** The migration's statements, one at a time (prepared protocols take one statement per call). */
export function migrationStatements(names: Partial<TableNames> = {}): Statement[] {
  return migrationSql(names)
    .split(/;\n/)
    .map((part) =>
      part
        .split('\n')
        .filter((line) => !line.startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((text) => text.length > 0)
    .map(statement)
}

/**
 * Names a statement by its text, so each distinct text is prepared once per connection, and two
 * stores on one pool with different tables never collide on a name.
 */
export function statement(text: string): Statement {
  const name = `xsession_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
  return Object.freeze({ name, text })
}

/** The most rows one cleanup statement deletes, and what it takes by default. */
export const CLEANUP_BATCH_MAX = 100_000

/**
 * Deletes up to $2 rows expired by $1 (epoch ms). FOR UPDATE SKIP LOCKED: rows another statement
 * holds (a save in flight, another instance's cleanup) are skipped, never waited for, and each
 * batch is its own short transaction, so the cleanup never blocks requests for long.
 */
export function cleanupStatement(table: string): Statement {
  return statement(
    `WITH gone AS (DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE "expires_at" <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)) RETURNING 1) SELECT count(*)::int AS "n" FROM gone`,
  )
}
