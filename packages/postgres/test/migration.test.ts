import { testId } from '@x/session-conformance-tests'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSessionTables, postgresRevocations, postgresStore } from '../src/index.js'
import { describeWith, dropSchema, POSTGRES_URL, probe, uniqueSchema } from './helpers.js'

const shared = await probe()
const schema = uniqueSchema('migration')

describeWith(`createSessionTables on ${POSTGRES_URL}`, shared, () => {
  let pool: pg.Pool
  let sql: postgres.Sql
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 })
    sql = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} })
    await pool.query(`CREATE SCHEMA "${schema}"`)
  })
  afterAll(async () => {
    await pool?.end()
    await sql?.end()
    await dropSchema(POSTGRES_URL, schema)
  })

  it('creates both tables and their indexes under any name, idempotently, through either driver', async () => {
    const names = { schema, table: 'My "Sessions"', revocationTable: 'logouts; --' }
    await createSessionTables(pool, names)
    await createSessionTables(sql, names)
    const tables = await pool.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    )
    expect(tables.rows.map((r) => r.table_name).sort()).toEqual(['My "Sessions"', 'logouts; --'])
    const indexes = await pool.query('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1', [
      schema,
    ])
    expect(indexes.rows.map((r) => r.indexname).sort()).toEqual([
      'My "Sessions"_expires_idx',
      'My "Sessions"_pkey',
      'My "Sessions"_user_idx',
      'logouts; --_expires_idx',
      'logouts; --_pkey',
    ])
    expect(indexes.rows.find((r) => r.indexname.endsWith('_user_idx'))?.indexdef).toMatch(
      /WHERE \(user_id IS NOT NULL\)/,
    )

    const store = postgresStore({ client: pool, schema, table: names.table, cleanupInterval: 0 })
    const id = testId()
    await store.set(
      id,
      { data: { a: 1 }, createdAt: 1, refreshedAt: 1, version: 1, user: 'ada' },
      { ttl: 60 },
    )
    expect(await store.listByUser('ada')).toEqual([id])
    const revocations = postgresRevocations({
      client: sql,
      schema,
      table: names.revocationTable,
      cleanupInterval: 0,
    })
    await revocations.set('u:ada', 5, 60)
    expect(await revocations.get(['u:ada'])).toEqual([5])
  })

  it('a store never creates its table: on a missing table every operation fails', async () => {
    const store = postgresStore({ client: pool, schema, table: 'never_created', cleanupInterval: 0 })
    await expect(store.get(testId())).rejects.toMatchObject({ code: '42P01' })
    const tables = await pool.query('SELECT 1 FROM information_schema.tables WHERE table_name = $1', [
      'never_created',
    ])
    expect(tables.rows).toEqual([])
  })
})
