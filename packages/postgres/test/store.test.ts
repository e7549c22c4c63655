import { describeStoreConformance, testId } from '@x/session-conformance-tests'
import { createSessionManager, type SessionEvent, type StoredSession } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PostgresStoreEvent, postgresStore } from '../src/index.js'
import { createSchema, describeWith, dropSchema, POSTGRES_URL, probe, uniqueSchema } from './helpers.js'

const shared = await probe()
const schema = uniqueSchema('store')
const SECRET = 'postgres-store-test-secret-0123456789-abcdef'

function record(data: Record<string, unknown>, version = 1, user?: string): StoredSession {
  const now = Date.now()
  return { data, createdAt: now, refreshedAt: now, version, ...(user === undefined ? {} : { user }) }
}

describeWith(`postgresStore on ${POSTGRES_URL}`, shared, () => {
  let pool: pg.Pool
  let sql: postgres.Sql
  let admin: pg.Pool

  beforeAll(async () => {
    await createSchema(POSTGRES_URL, schema)
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 })
    sql = postgres(POSTGRES_URL, { max: 4, onnotice: () => {} })
    admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
  })
  afterAll(async () => {
    await pool?.end()
    await sql?.end()
    await admin?.end()
    await dropSchema(POSTGRES_URL, schema)
  })

  // The store keeps time with the suite's clock, so the ttl cases advance it instead of waiting.
  describeStoreConformance({
    name: 'postgres (pg Pool)',
    create: (clock) => postgresStore({ client: pool, schema, clock, cleanupInterval: 0 }),
  })
  describeStoreConformance({
    name: 'postgres (postgres.js)',
    create: (clock) => postgresStore({ client: sql, schema, clock, cleanupInterval: 0 }),
  })
  describeStoreConformance({
    name: 'postgres (pg Pool, unprepared)',
    create: (clock) => postgresStore({ client: pool, schema, clock, cleanupInterval: 0, prepare: false }),
  })

  const row = async (id: string) =>
    (await admin.query(`SELECT * FROM "${schema}"."x_session" WHERE "id" = $1`, [id])).rows[0]

  for (const kind of ['pg', 'postgres.js'] as const) {
    describe(`with ${kind}`, () => {
      const events: PostgresStoreEvent[] = []
      const store = (clock?: () => number) =>
        postgresStore({
          client: kind === 'pg' ? pool : sql,
          schema,
          cleanupInterval: 0,
          onEvent: (e) => events.push(e),
          ...(clock ? { clock } : {}),
        })

      it('S8: a session is one row of the configured schema and table, keyed by its id', async () => {
        const id = testId()
        await store().set(id, record({ a: 1 }, 1, 'ada'), { ttl: 60 })
        expect(await row(id)).toMatchObject({ id, data: '{"a":1}', version: '1', user_id: 'ada' })
        const other = await admin
          .query(`SELECT count(*)::int AS n FROM "public"."x_session" WHERE "id" = $1`, [id])
          .catch(() => ({ rows: [{ n: 0 }] }))
        expect(other.rows[0].n).toBe(0)
      })

      it('S2: the row expires at now + ttl (seconds); touch moves it and sets refreshedAt, leaving the data column alone', async () => {
        const clock = createTestClock(Date.now())
        const s = store(clock)
        const id = testId()
        await s.set(id, record({ a: 1 }), { ttl: 60 })
        expect(Number((await row(id)).expires_at)).toBe(clock() + 60_000)
        const before = (await row(id)).data
        await s.touch(id, 120, 42)
        const after = await row(id)
        expect(Number(after.expires_at)).toBe(clock() + 120_000)
        expect(after.refreshed_at).toBe('42')
        expect(after.data).toBe(before)
      })

      it('S2: an expired row is never returned, listed, touched back to life or updated from its version', async () => {
        const clock = createTestClock(Date.now())
        const s = store(clock)
        const [id, bound] = [testId(), testId()]
        const user = `clocked-${testId()}`
        await s.set(id, record({ a: 1 }), { ttl: 60 })
        await s.set(bound, record({ b: 1 }, 1, user), { ttl: 60 })
        clock.advance(60)
        // Still in the table (no cleanup ran), yet gone.
        expect(await row(id)).toBeDefined()
        expect(await s.get(id)).toBeUndefined()
        await s.touch(id, 60, 3)
        expect(await s.get(id)).toBeUndefined()
        expect(await s.listByUser(user)).toEqual([])
        expect(await s.deleteByUser(user)).toBe(0)
        expect(await s.set(id, record({ a: 2 }, 2), { ttl: 60, expectVersion: 1 })).toBe('conflict')
        // A new session may take the id of an expired one (expectVersion 0).
        expect(await s.set(id, record({ a: 3 }, 1), { ttl: 60, expectVersion: 0 })).toBe('ok')
        expect((await s.get(id))?.data).toEqual({ a: 3 })
      })

      it('S6: a rebound session leaves its old user, an unbound one leaves every user', async () => {
        const id = testId()
        const [u1, u2] = [`u1-${testId()}`, `u2-${testId()}`]
        const s = store()
        await s.set(id, record({ n: 1 }, 1, u1), { ttl: 60, expectVersion: 0 })
        expect(await s.listByUser(u1)).toEqual([id])
        expect(await s.set(id, record({ n: 2 }, 2, u2), { ttl: 60, expectVersion: 1 })).toBe('ok')
        expect(await s.listByUser(u1)).toEqual([])
        expect(await s.listByUser(u2)).toEqual([id])
        expect(await s.deleteByUser(u1)).toBe(0)
        expect(await s.set(id, record({ n: 3 }, 3), { ttl: 60, expectVersion: 2 })).toBe('ok')
        expect(await s.listByUser(u2)).toEqual([])
        expect((await s.get(id))?.user).toBeUndefined()
      })

      it('S8: users are values, never SQL or patterns; NUL and lone surrogates are refused before any I/O', async () => {
        const users = [
          "'",
          "a'; DROP TABLE x_session; --",
          '%',
          'a%',
          'a',
          '_',
          '\\',
          'line\nbreak',
          'ü 😀',
          'z'.repeat(1000),
        ]
        const s = store()
        const tag = testId()
        const ids = new Map(users.map((u) => [`${tag}${u}`, testId()]))
        for (const [user, id] of ids) await s.set(id, record({ user }, 1, user), { ttl: 60 })
        for (const [user, id] of ids) expect(await s.listByUser(user)).toEqual([id])
        expect(await s.deleteByUser(`${tag}a%`)).toBe(1)
        expect(await s.listByUser(`${tag}a`)).toEqual([ids.get(`${tag}a`)])
        for (const bad of ['x\uD800', 'nul\0byte', '', 'z'.repeat(1025)]) {
          await expect(s.set(testId(), record({}, 1, bad), { ttl: 60 })).rejects.toMatchObject({
            code: 'ERR_SESSION_INVALID_OPTION',
          })
          await expect(s.listByUser(bad)).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
        }
      })

      it('S1: data survives byte for byte, \\u0000 and lone-surrogate escapes included', async () => {
        const s = store()
        const id = testId()
        const data = {
          nul: 'a\u0000b',
          lone: '\uD800',
          emoji: '😀',
          nested: { deep: [1, 'x', null] },
          n: 1.5,
        }
        await s.set(id, record(data), { ttl: 60 })
        expect((await s.get(id))?.data).toEqual(data)
      })

      it('S10: data over maxDataSize (bytes of its JSON) is refused with ERR_SESSION_TOO_LARGE, nothing written', async () => {
        const s = postgresStore({
          client: kind === 'pg' ? pool : sql,
          schema,
          cleanupInterval: 0,
          maxDataSize: 100,
        })
        const id = testId()
        // {"s":"…"} is 8 bytes around the string; é is two bytes in UTF-8.
        expect(await s.set(id, record({ s: 'x'.repeat(92) }), { ttl: 60 })).toBe('ok')
        await expect(s.set(id, record({ s: 'é'.repeat(47) }, 2), { ttl: 60 })).rejects.toMatchObject({
          code: 'ERR_SESSION_TOO_LARGE',
        })
        expect((await s.get(id))?.data).toEqual({ s: 'x'.repeat(92) })
        // The default is 1 MiB.
        const big = store()
        const large = testId()
        expect(await big.set(large, record({ s: 'x'.repeat(1_048_576 - 8) }), { ttl: 60 })).toBe('ok')
        await expect(
          big.set(large, record({ s: 'x'.repeat(1_048_576 - 7) }), { ttl: 60 }),
        ).rejects.toMatchObject({
          code: 'ERR_SESSION_TOO_LARGE',
        })
      })

      it('S11: apply merges one change set in place: keys set, keys removed, the rest as stored, user bound or unbound', async () => {
        const s = store()
        const id = testId()
        await s.set(id, record({ keep: { deep: [1, 'x'] }, drop: 1, over: 'old', 'q"k': 'é' }, 1), {
          ttl: 60,
        })
        const change = {
          set: { over: 'new', added: { n: 2 }, ['__proto__']: 'own' },
          remove: ['drop', 'absent'],
          refreshedAt: 77,
        }
        expect(await s.apply(id, { ...change, bind: { user: 'ada' } }, { ttl: 60 })).toBe(2)
        const read = await s.get(id)
        expect(read?.data).toEqual(
          JSON.parse('{"keep":{"deep":[1,"x"]},"over":"new","q\\"k":"é","added":{"n":2},"__proto__":"own"}'),
        )
        expect(Object.getPrototypeOf(read?.data)).toBe(Object.prototype)
        expect(read).toMatchObject({ version: 2, refreshedAt: 77, user: 'ada' })
        expect(await s.listByUser('ada')).toContain(id)
        expect(await s.apply(id, { set: {}, remove: [], refreshedAt: 78 }, { ttl: 60 })).toBe(3)
        expect((await s.get(id))?.user).toBe('ada')
        expect(
          await s.apply(id, { set: {}, remove: [], refreshedAt: 79, bind: { user: undefined } }, { ttl: 60 }),
        ).toBe(4)
        expect((await s.get(id))?.user).toBeUndefined()
      })

      it('S11: apply on a missing or expired session writes nothing and answers undefined', async () => {
        const clock = createTestClock(Date.now())
        const s = store(clock)
        const id = testId()
        expect(await s.apply(id, { set: { a: 1 }, remove: [], refreshedAt: 1 }, { ttl: 60 })).toBeUndefined()
        expect(await row(id)).toBeUndefined()
        await s.set(id, record({ a: 1 }), { ttl: 60 })
        clock.advance(60)
        expect(await s.apply(id, { set: { a: 2 }, remove: [], refreshedAt: 1 }, { ttl: 60 })).toBeUndefined()
        expect((await row(id)).data).toBe('{"a":1}')
      })

      it('S10: apply whose merged data would pass maxDataSize is refused with ERR_SESSION_TOO_LARGE, nothing written', async () => {
        const s = postgresStore({
          client: kind === 'pg' ? pool : sql,
          schema,
          cleanupInterval: 0,
          maxDataSize: 100,
        })
        const id = testId()
        // {"a":"x…"} at 60 bytes; adding ,"b":"é…" makes it 101: each part alone fits.
        await s.set(id, record({ a: 'x'.repeat(52) }), { ttl: 60 })
        await expect(
          s.apply(id, { set: { b: 'é'.repeat(17) }, remove: [], refreshedAt: 2 }, { ttl: 60 }),
        ).rejects.toMatchObject({
          code: 'ERR_SESSION_TOO_LARGE',
        })
        expect(await s.get(id)).toMatchObject({ data: { a: 'x'.repeat(52) }, version: 1 })
        // One byte less is exactly at the limit, and accepted.
        expect(
          await s.apply(id, { set: { b: `${'é'.repeat(16)}x` }, remove: [], refreshedAt: 2 }, { ttl: 60 }),
        ).toBe(2)
      })

      it('S11: apply merges data that PostgreSQL cannot decode (\\u0000, lone surrogates) by version-checked saves', async () => {
        const s = store()
        const id = testId()
        const odd = { nul: 'a\u0000b', lone: '\uD800', ['k\u0000']: 1 }
        await s.set(id, record(odd, 1), { ttl: 60 })
        expect(
          await s.apply(
            id,
            { set: { more: 'x\u0000', ['__proto__']: 'own' }, remove: ['lone'], refreshedAt: 5 },
            { ttl: 60 },
          ),
        ).toBe(2)
        expect(await s.get(id)).toMatchObject({
          data: { nul: 'a\u0000b', ['k\u0000']: 1, more: 'x\u0000' },
          version: 2,
          refreshedAt: 5,
        })
        const read = await s.get(id)
        expect(Object.getPrototypeOf(read?.data)).toBe(Object.prototype)
        expect(Object.hasOwn(read?.data ?? {}, '__proto__')).toBe(true)
        // Concurrent merges on such data still keep every key.
        await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            s.apply(id, { set: { [`p${i}`]: i }, remove: [], refreshedAt: 6 }, { ttl: 60 }),
          ),
        )
        const data = (await s.get(id))?.data ?? {}
        for (let i = 0; i < 5; i++) expect(data[`p${i}`]).toBe(i)
      })

      it('cleanup() deletes expired rows only, in batches, and reports how many', async () => {
        const clock = createTestClock(Date.now() + 10 * 365 * 86_400_000)
        const s = postgresStore({
          client: kind === 'pg' ? pool : sql,
          schema,
          cleanupInterval: 0,
          cleanupBatch: 3,
          clock,
        })
        const live = testId()
        await s.set(live, record({ live: true }), { ttl: 3600 })
        // Everything written so far by every test expires before this clock; clear it first.
        await s.cleanup()
        const dead = Array.from({ length: 7 }, () => testId())
        for (const id of dead) await s.set(id, record({}), { ttl: 1 })
        clock.advance(2)
        expect(await s.cleanup()).toBe(7)
        for (const id of dead) expect(await row(id)).toBeUndefined()
        expect(await row(live)).toBeDefined()
        expect(await s.cleanup()).toBe(0)
      })

      it('a corrupt row reads as missing, is reported without its id, and is left in place', async () => {
        const s = store()
        for (const [reason, data, version] of [
          ['bad-data', 'not json{', '1'],
          ['bad-data', '[1,2]', '1'],
          ['bad-data', 'null', '1'],
        ] as const) {
          const id = testId()
          await admin.query(`INSERT INTO "${schema}"."x_session" VALUES ($1, $2, 1, 1, $3, NULL, $4)`, [
            id,
            data,
            version,
            Date.now() + 60_000,
          ])
          events.length = 0
          expect(await s.get(id)).toBeUndefined()
          expect(events).toEqual([{ type: 'corrupt', reason }])
          expect(JSON.stringify(events)).not.toContain(id)
          expect(await row(id)).toBeDefined()
        }
        const id = testId()
        await admin.query(`INSERT INTO "${schema}"."x_session" VALUES ($1, '{}', 1, 1, $2, NULL, $3)`, [
          id,
          '99999999999999999',
          Date.now() + 60_000,
        ])
        events.length = 0
        expect(await s.get(id)).toBeUndefined()
        expect(events).toEqual([{ type: 'corrupt', reason: 'bad-fields' }])
      })

      it('X7/S6 through the engine: endUserSessions ends every session of a user and no other', async () => {
        const s = store()
        const engineEvents: SessionEvent[] = []
        const manager = createSessionManager<{ name: string }>({
          secret: SECRET,
          store: s,
          onEvent: (e) => engineEvents.push(e),
        })
        const login = async (user: string) => {
          const cycle = manager.begin({ cookieHeader: undefined })
          const session = await cycle.load()
          session.set('name', user)
          session.bindUser(user)
          const { setCookie } = await cycle.commit()
          return { cookie: (setCookie[0] ?? '').split(';')[0] ?? '', id: session.id }
        }
        const user = `ada-${testId()}`
        const a = await login(user)
        const b = await login(user)
        const other = await login(`bob-${testId()}`)
        expect((await manager.listUserSessions(user)).sort()).toEqual([a.id, b.id].sort())
        await manager.endUserSessions(user)
        expect(await manager.listUserSessions(user)).toEqual([])
        expect((await manager.begin({ cookieHeader: a.cookie }).load()).isNew).toBe(true)
        expect((await manager.begin({ cookieHeader: b.cookie }).load()).isNew).toBe(true)
        expect((await manager.begin({ cookieHeader: other.cookie }).load()).isNew).toBe(false)
        expect(engineEvents).toContainEqual({ type: 'invalid', reason: 'not-found', cookie: 'session' })
      })
    })
  }
})
