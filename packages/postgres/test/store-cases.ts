import type { StoreCase } from '@x/session-conformance-tests'
import postgres from 'postgres'
import { postgresStore } from '../src/index.js'
import { createSchema, dropSchema, POSTGRES_URL, probe, uniqueSchema } from './helpers.js'

/**
 * The PostgreSQL store for every adapter's conformance suite, when PostgreSQL answers at
 * POSTGRES_URL. Locally a missing server skips it with a one-line reason; on CI (`CI=true`) it
 * fails the run, so a green CI always means PostgreSQL was tested.
 */
export async function postgresStoreCases(): Promise<StoreCase[]> {
  const reachable = await probe()
  if (!reachable.ok) {
    if (process.env.CI === 'true')
      throw new Error(`PostgreSQL store cases: ${reachable.reason} (CI=true, so this fails)`)
    console.warn(`skipped: adapter conformance over PostgreSQL: ${reachable.reason}`)
    return []
  }
  const schema = uniqueSchema('conformance')
  let sql: postgres.Sql | undefined
  let ready: Promise<unknown> | undefined
  let created = false
  return [
    {
      name: 'postgres store',
      async create(clock) {
        created = true
        ready ??= createSchema(POSTGRES_URL, schema)
        await ready
        sql ??= postgres(POSTGRES_URL, { max: 4, onnotice: () => {} })
        // The suite moves its clock: pass it, so rows expire by it as the engine sees them.
        return postgresStore({ client: sql, schema, clock, cleanupInterval: 0 })
      },
      async dispose() {
        await sql?.end()
        if (created) await dropSchema(POSTGRES_URL, schema)
      },
    },
  ]
}
