import type { SessionStore } from '@x/session-core'
import pg from 'pg'
import postgres from 'postgres'
import { describe, expectTypeOf, it } from 'vitest'
import { type PostgresClientLike, postgresRevocations, postgresStore } from '../src/index.js'

describe('postgresStore client types', () => {
  it('accepts node-postgres Pool, Client and PoolClient, and postgres.js sql, reserved and transaction sql as they come', async () => {
    const sql = postgres()
    expectTypeOf(new pg.Pool()).toExtend<PostgresClientLike>()
    expectTypeOf(new pg.Client()).toExtend<PostgresClientLike>()
    expectTypeOf(await new pg.Pool().connect()).toExtend<PostgresClientLike>()
    expectTypeOf(sql).toExtend<PostgresClientLike>()
    expectTypeOf(await sql.reserve()).toExtend<PostgresClientLike>()
    await sql.begin((tx) => {
      expectTypeOf(tx).toExtend<PostgresClientLike>()
    })
    expectTypeOf(postgresStore({ client: new pg.Pool() })).toExtend<
      Required<Omit<SessionStore, 'unsupported'>>
    >()
  })

  it('refuses what is not a client', () => {
    // @ts-expect-error a URL is not a client
    postgresStore({ client: 'postgres://localhost/db' })
    // @ts-expect-error the client is required
    postgresStore({ table: 'sessions' })
    // @ts-expect-error a URL is not a client
    postgresRevocations({ client: 'postgres://localhost/db' })
  })
})
