export type { PgLike, PostgresClientLike, PostgresJsLike } from './internal/client.js'
export { createSessionTables, migrationSql, type TableNames, tableDefaults } from './migration.js'
export {
  type PostgresRevocationStore,
  type PostgresRevocationsOptions,
  postgresRevocations,
} from './postgres-revocations.js'
export {
  type CorruptReason,
  type PostgresSessionStore,
  type PostgresStoreEvent,
  type PostgresStoreOptions,
  postgresStore,
  postgresStoreDefaults,
} from './postgres-store.js'
