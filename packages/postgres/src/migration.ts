import { type PostgresClientLike, runner } from './internal/client.js'
import { migrationSql, migrationStatements, type TableNames, tableDefaults } from './internal/sql.js'

export type { TableNames }
export { migrationSql, tableDefaults }

/**
 * Creates the sessions table, the revocations table and their indexes where they do not exist
 * yet (the same SQL as the shipped `@x/session-postgres/migration.sql`, with your names). Call it
 * from a deploy or migration step: the stores never create anything on their own.
 */
export async function createSessionTables(
  client: PostgresClientLike,
  names: Partial<TableNames> = {},
): Promise<void> {
  const run = runner(client, { prepare: false, timeout: 0 }, 'createSessionTables')
  for (const statement of migrationStatements(names)) await run(statement, [])
}
