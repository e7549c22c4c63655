import { readFile } from 'node:fs/promises'
import { testId } from '@x/session-conformance-tests'
import { SessionError } from '@x/session-core'
import { describe, expect, it } from 'vitest'
import { migrationSql, type PgLike, postgresRevocations, postgresStore } from '../src/index.js'

const record = { data: {}, createdAt: 1, refreshedAt: 1, version: 1 }

/** A node-postgres-shaped client that records every statement and answers with no rows. */
function fakePg(answer: () => Promise<{ rows: unknown[] }> = async () => ({ rows: [] })) {
  const calls: { name?: string; text: string; values?: unknown[] }[] = []
  const client: PgLike = {
    async query(config) {
      calls.push(config)
      return answer()
    },
  }
  return { client, calls }
}

/** A postgres.js-shaped `sql`: a function with `unsafe`. */
function fakePostgresJs() {
  const calls: { text: string; values: unknown[]; prepare: boolean | undefined }[] = []
  const sql = Object.assign(() => undefined, {
    unsafe(text: string, values: unknown[] = [], options: { prepare?: boolean } = {}) {
      calls.push({ text, values, prepare: options.prepare })
      return Promise.resolve([])
    },
  })
  return { sql, calls }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return SessionError.is(error) ? error.code : 'not a SessionError'
  }
  return undefined
}

async function asyncCodeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return SessionError.is(error) ? error.code : undefined
}

describe('postgresStore options', () => {
  it('refuses a client it cannot drive', () => {
    for (const client of [undefined, null, {}, { unsafe() {} }, () => {}, 'postgres://localhost/db', 42]) {
      expect(codeOf(() => postgresStore({ client: client as never }))).toBe('ERR_SESSION_INVALID_OPTION')
      expect(codeOf(() => postgresRevocations({ client: client as never }))).toBe(
        'ERR_SESSION_INVALID_OPTION',
      )
    }
    expect(codeOf(() => postgresStore(undefined as never))).toBe('ERR_SESSION_INVALID_OPTION')
  })

  it('tells node-postgres from postgres.js by shape, and prepares statements unless told not to', async () => {
    const pg = fakePg()
    await postgresStore({ client: pg.client, cleanupInterval: 0 }).get(testId())
    expect(pg.calls).toHaveLength(1)
    expect(pg.calls[0]?.name).toMatch(/^xsession_[0-9a-f]{20}$/)
    const js = fakePostgresJs()
    await postgresStore({ client: js.sql, cleanupInterval: 0 }).get(testId())
    expect(js.calls).toHaveLength(1)
    expect(js.calls[0]?.prepare).toBe(true)

    const unprepared = fakePg()
    await postgresStore({ client: unprepared.client, cleanupInterval: 0, prepare: false }).get(testId())
    expect(unprepared.calls[0]?.name).toBeUndefined()
    const js2 = fakePostgresJs()
    await postgresStore({ client: js2.sql, cleanupInterval: 0, prepare: false }).get(testId())
    expect(js2.calls[0]?.prepare).toBe(false)
  })

  it('quotes schema and table as identifiers, and refuses names it cannot quote faithfully', async () => {
    const pg = fakePg()
    await postgresStore({
      client: pg.client,
      schema: 'my "app"',
      table: 'x; DROP TABLE users',
      cleanupInterval: 0,
    }).get(testId())
    expect(pg.calls[0]?.text).toContain('FROM "my ""app"""."x; DROP TABLE users" WHERE')
    for (const [schema, table] of [
      ['', undefined],
      [undefined, ''],
      ['a\0b', undefined],
      [undefined, 'x\uD800'],
      ['s'.repeat(64), undefined],
      // Index names add to the table's name: past 50 bytes PostgreSQL would truncate them.
      [undefined, 't'.repeat(51)],
      [undefined, 'é'.repeat(26)],
      [42, undefined],
    ] as const) {
      expect(
        codeOf(() => postgresStore({ client: pg.client, schema: schema as never, table: table as never })),
        `${schema} ${table}`,
      ).toBe('ERR_SESSION_INVALID_OPTION')
    }
    expect(
      codeOf(() => postgresStore({ client: pg.client, table: 't'.repeat(50), cleanupInterval: 0 })),
    ).toBe(undefined)
  })

  it('refuses bad numbers and functions at construction', () => {
    const { client } = fakePg()
    for (const bad of [
      { maxDataSize: 0 },
      { maxDataSize: 1.5 },
      { maxDataSize: '1mb' },
      { cleanupBatch: 0 },
      { cleanupBatch: 1_000_001 },
      { cleanupInterval: -1 },
      { cleanupInterval: Number.NaN },
      { timeout: -1 },
      { timeout: '5' },
      { prepare: 'yes' },
      { clock: 5 },
      { onEvent: 'log' },
    ]) {
      expect(
        codeOf(() => postgresStore({ client, ...(bad as object) })),
        JSON.stringify(bad),
      ).toBe('ERR_SESSION_INVALID_OPTION')
    }
  })

  it('S8: ids, users, ttls, versions and sizes are checked before any statement is sent', async () => {
    const { client, calls } = fakePg()
    const store = postgresStore({ client, cleanupInterval: 0, maxDataSize: 10 })
    for (const bad of ['', '../../etc/passwd', 'a'.repeat(25), "'; DROP TABLE x_session; --", '__proto__']) {
      expect(await asyncCodeOf(store.get(bad))).toBe('ERR_SESSION_INVALID_ID')
      expect(await asyncCodeOf(store.set(bad, record, { ttl: 60 }))).toBe('ERR_SESSION_INVALID_ID')
      expect(await asyncCodeOf(store.delete(bad))).toBe('ERR_SESSION_INVALID_ID')
      expect(await asyncCodeOf(store.touch(bad, 60, 1))).toBe('ERR_SESSION_INVALID_ID')
    }
    const id = testId()
    expect(await asyncCodeOf(store.set(id, record, { ttl: 0 }))).toBe('ERR_SESSION_INVALID_OPTION')
    expect(await asyncCodeOf(store.set(id, record, { ttl: 60, expectVersion: -1 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await asyncCodeOf(store.set(id, { ...record, version: 1.5 }, { ttl: 60 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await asyncCodeOf(store.set(id, { ...record, user: 'a\0' }, { ttl: 60 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await asyncCodeOf(store.set(id, { ...record, data: { n: 10n } }, { ttl: 60 }))).toBe(
      'ERR_SESSION_NOT_SERIALIZABLE',
    )
    expect(await asyncCodeOf(store.set(id, { ...record, data: { s: 'x'.repeat(10) } }, { ttl: 60 }))).toBe(
      'ERR_SESSION_TOO_LARGE',
    )
    expect(await asyncCodeOf(store.touch(id, Number.POSITIVE_INFINITY, 1))).toBe('ERR_SESSION_INVALID_OPTION')
    expect(await asyncCodeOf(store.listByUser(''))).toBe('ERR_SESSION_INVALID_OPTION')
    expect(calls).toEqual([])
  })

  it('S7: a statement that does not answer within `timeout` seconds rejects (the engine answers 503)', async () => {
    const { client } = fakePg(() => new Promise(() => {}))
    const store = postgresStore({ client, cleanupInterval: 0, timeout: 0.05 })
    await expect(store.get(testId())).rejects.toThrow(/no answer within/)
    const revocations = postgresRevocations({ client, cleanupInterval: 0, timeout: 0.05 })
    await expect(revocations.get(['u:ada'])).rejects.toThrow(/no answer within/)
  })

  it('a scheduled cleanup that fails is reported, not thrown, and close() stops the schedule', async () => {
    const errors: unknown[] = []
    const { client, calls } = fakePg(async () => {
      throw new Error('database down')
    })
    const store = postgresStore({
      client,
      cleanupInterval: 0.02,
      onEvent: (event) => errors.push(event),
    })
    const deadline = Date.now() + 10_000
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    store.close()
    expect(errors[0]).toMatchObject({ type: 'cleanup-error' })
    expect(calls[0]?.text).toMatch(/^WITH gone AS \(DELETE FROM .* FOR UPDATE SKIP LOCKED/)
    const after = calls.length
    await new Promise((r) => setTimeout(r, 60))
    expect(calls.length).toBe(after)
  })
})

describe('migration', () => {
  it('the shipped migration.sql is migrationSql() for the default names', async () => {
    const shipped = await readFile(new URL('../sql/create-session-tables.sql', import.meta.url), 'utf8')
    expect(shipped).toBe(migrationSql())
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.exports['./migration.sql']).toBe('./sql/create-session-tables.sql')
    expect(pkg.files).toContain('sql')
  })

  it('names are quoted everywhere they appear, indexes included', () => {
    const sql = migrationSql({ schema: 'a"b', table: 'My Sessions', revocationTable: 'rev' })
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "a""b"."My Sessions" (')
    expect(sql).toContain('CREATE INDEX IF NOT EXISTS "My Sessions_user_idx" ON "a""b"."My Sessions"')
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "a""b"."rev" (')
    expect(sql).not.toMatch(/x_session/)
  })
})
