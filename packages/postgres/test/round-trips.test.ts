import { testId } from '@x/session-conformance-tests'
import { createSessionManager, type StoredSession } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createSessionTables,
  type PostgresRevocationStore,
  type PostgresSessionStore,
  postgresRevocations,
  postgresStore,
} from '../src/index.js'
import {
  describeWith,
  initCluster,
  type PostgresProcess,
  privateServerRequirement,
  startPostgres,
  stopPostgres,
  waitFor,
} from './helpers.js'

const SECRET = 'postgres-round-trip-secret-0123456789-abcdef'

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version, ...(user === undefined ? {} : { user }) }
}

/**
 * Counts what the server executes with `log_statement = 'all'` on a private PostgreSQL: nobody
 * else talks to it, and the log names every statement executed, by either protocol.
 */
describeWith(
  'statements per operation (private postgres, log_statement=all)',
  privateServerRequirement(),
  () => {
    let server: PostgresProcess
    let admin: pg.Client
    let pool: pg.Pool
    let sql: postgres.Sql
    let markers = 0

    beforeAll(async () => {
      server = await startPostgres(await initCluster(), { log_statement: 'all' })
      admin = new pg.Client(server.url)
      await admin.connect()
      await createSessionTables(admin)
      pool = new pg.Pool({ connectionString: server.url, max: 1 })
      sql = postgres(server.url, { max: 1, onnotice: () => {} })
    }, 60_000)
    afterAll(async () => {
      await pool?.end()
      await sql?.end()
      await admin?.end()
      await stopPostgres(server)
    })

    /** Index in the log of a fresh marker statement, once the server has logged it. */
    async function marker(): Promise<number> {
      const text = `marker-${markers++}`
      await admin.query(`SELECT '${text}'`)
      let at = -1
      await waitFor('the log marker', () => {
        at = server.log.findIndex((line) => line.includes(`statement: SELECT '${text}'`))
        return at >= 0
      })
      return at
    }

    /** The statements executed while `fn` ran (their text, without the log prefix). */
    async function executed(fn: () => Promise<unknown>): Promise<string[]> {
      const from = await marker()
      await fn()
      const to = await marker()
      return server.log
        .slice(from + 1, to)
        .map((line) => /LOG: {2}(?:statement: |execute [^:]*: )(.*)$/.exec(line)?.[1])
        .filter((text): text is string => text !== undefined)
    }

    for (const kind of ['pg', 'postgres.js'] as const) {
      describe(`with ${kind}`, () => {
        let store: PostgresSessionStore
        let revocations: PostgresRevocationStore
        beforeAll(async () => {
          const client = kind === 'pg' ? pool : sql
          store = postgresStore({ client, cleanupInterval: 0 })
          revocations = postgresRevocations({ client, cleanupInterval: 0 })
          // The driver's own first-connection queries (postgres.js reads array types) are not counted.
          await store.get(testId())
        })

        it('one statement per load, per save (any expected version), per touch and per delete', async () => {
          const id = testId()
          const user = `u-${testId()}`
          const one = async (fn: () => Promise<unknown>, verb: RegExp) => {
            const statements = await executed(fn)
            expect(statements).toHaveLength(1)
            expect(statements[0]).toMatch(verb)
          }
          await one(() => store.set(id, record({ a: 1 }, 1, user), { ttl: 60, expectVersion: 0 }), /^INSERT /)
          await one(() => store.get(id), /^SELECT /)
          await one(() => store.set(id, record({ a: 2 }, 2, user), { ttl: 60, expectVersion: 1 }), /^UPDATE /)
          // A conflict is the same one statement, answered with no row.
          await one(() => store.set(id, record({ a: 3 }, 3), { ttl: 60, expectVersion: 1 }), /^UPDATE /)
          await one(() => store.set(id, record({ a: 4 }, 4), { ttl: 60 }), /^INSERT /)
          await one(() => store.touch(id, 60, 5), /^UPDATE /)
          await one(
            () =>
              store.apply(id, { set: { b: 1 }, remove: ['a'], refreshedAt: 6, bind: { user } }, { ttl: 60 }),
            /^WITH cur AS \(SELECT /,
          )
          await one(() => store.listByUser(user), /^SELECT /)
          await one(() => store.deleteByUser(user), /^WITH gone AS \(DELETE /)
          await one(() => store.delete(id), /^DELETE /)
          await one(() => store.cleanup(), /^WITH gone AS \(DELETE /)
          await one(() => revocations.get(['u:ada', 's:x', 'u:bob']), /^SELECT /)
          await one(() => revocations.set('u:ada', 1, 60), /^INSERT /)
        })

        it('S5: touch names refreshed_at and expires_at, never the data', async () => {
          const id = testId()
          await store.set(id, record({ a: 1 }), { ttl: 60 })
          const [touch] = await executed(() => store.touch(id, 90, 7))
          expect(touch).toMatch(/^UPDATE .* SET "refreshed_at" = \$2, "expires_at" = \$3 WHERE/)
          expect(touch).not.toMatch(/"data"/)
        })

        it('through the engine: a load is one statement, a save one, an untouched or unchanged request none', async () => {
          const clock = createTestClock(Date.now())
          const clocked = postgresStore({ client: kind === 'pg' ? pool : sql, clock, cleanupInterval: 0 })
          const manager = createSessionManager<{ n: number }>({
            secret: SECRET,
            store: clocked,
            clock,
            idleTimeout: 3600,
            rolling: 600,
          })
          let cookie = ''
          const created = await executed(async () => {
            const cycle = manager.begin({ cookieHeader: undefined })
            const session = await cycle.load()
            session.set('n', 1)
            session.bindUser(`ada-${kind}`)
            cookie = ((await cycle.commit()).setCookie[0] ?? '').split(';')[0] ?? ''
          })
          expect(created).toHaveLength(1)

          expect(await executed(() => manager.begin({ cookieHeader: cookie }).commit())).toEqual([])

          const load = await executed(async () => {
            const cycle = manager.begin({ cookieHeader: cookie })
            expect((await cycle.load()).get('n')).toBe(1)
            expect((await cycle.commit()).setCookie).toEqual([])
          })
          expect(load).toHaveLength(1)

          const save = await executed(async () => {
            const cycle = manager.begin({ cookieHeader: cookie })
            ;(await cycle.load()).set('n', 2)
            await cycle.commit()
          })
          // The load, then the change set merged in place (apply).
          expect(save.map((s) => s.split(' ')[0])).toEqual(['SELECT', 'WITH'])

          clock.advance(700)
          const refresh = await executed(async () => {
            const cycle = manager.begin({ cookieHeader: cookie })
            await cycle.load()
            await cycle.commit()
          })
          expect(refresh).toHaveLength(2)
          expect(refresh[1]).not.toMatch(/"data"/)
        })
      })
    }
  },
)
