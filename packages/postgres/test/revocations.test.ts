import { describeRevocationConformance } from '@x/session-conformance-tests'
import { createSessionManager } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresRevocations } from '../src/index.js'
import { createSchema, describeWith, dropSchema, POSTGRES_URL, probe, uniqueSchema } from './helpers.js'

const shared = await probe()
const schema = uniqueSchema('revocations')
const SECRET = 'postgres-revocation-secret-0123456789-abcdef'
let unique = 0
const subject = (tag: string) => `${tag}:${process.pid}-${unique++}-${Math.random().toString(36).slice(2)}`

describeWith(`postgresRevocations on ${POSTGRES_URL}`, shared, () => {
  let pool: pg.Pool
  let sql: postgres.Sql

  beforeAll(async () => {
    await createSchema(POSTGRES_URL, schema)
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 })
    sql = postgres(POSTGRES_URL, { max: 4, onnotice: () => {} })
  })
  afterAll(async () => {
    await pool?.end()
    await sql?.end()
    await dropSchema(POSTGRES_URL, schema)
  })

  // The store keeps time with the suite's clock, so the ttl cases advance it instead of waiting.
  describeRevocationConformance({
    name: 'postgres (pg Pool)',
    create: (clock) => postgresRevocations({ client: pool, schema, clock, cleanupInterval: 0 }),
  })
  describeRevocationConformance({
    name: 'postgres (postgres.js)',
    create: (clock) => postgresRevocations({ client: sql, schema, clock, cleanupInterval: 0 }),
  })

  for (const kind of ['pg', 'postgres.js'] as const) {
    describe(`with ${kind}`, () => {
      const make = (clock = createTestClock(Date.now())) => ({
        clock,
        store: postgresRevocations({ client: kind === 'pg' ? pool : sql, schema, clock, cleanupInterval: 0 }),
      })

      it('get answers in the order asked, undefined where nothing is kept', async () => {
        const { store } = make()
        const [a, b, c] = [subject('u'), subject('s'), subject('u')]
        await store.set(a, 1000, 60)
        await store.set(c, 3000, 60)
        expect(await store.get([a, b, c])).toEqual([1000, undefined, 3000])
        expect(await store.get([c, a])).toEqual([3000, 1000])
        expect(await store.get([c, c])).toEqual([3000, 3000])
        expect(await store.get([])).toEqual([])
      })

      it('set never lowers a kept time nor shortens its ttl', async () => {
        const { store, clock } = make()
        const s = subject('u')
        await store.set(s, 5000, 100)
        await store.set(s, 4000, 10)
        expect(await store.get([s])).toEqual([5000])
        clock.advance(50)
        expect(await store.get([s])).toEqual([5000])
        await store.set(s, 6000, 10)
        expect(await store.get([s])).toEqual([6000])
        // The ttl is still the longest asked: 100 s from the first set.
        clock.advance(49)
        expect(await store.get([s])).toEqual([6000])
        clock.advance(1)
        expect(await store.get([s])).toEqual([undefined])
      })

      it('an expired revocation is forgotten, and a new one replaces it whole', async () => {
        const { store, clock } = make()
        const s = subject('s')
        await store.set(s, 9000, 1)
        clock.advance(1)
        expect(await store.get([s])).toEqual([undefined])
        await store.set(s, 2000, 60)
        expect(await store.get([s])).toEqual([2000])
      })

      it('K7: no number of later revocations brings an earlier one back (a table has no entry limit)', async () => {
        const { store } = make()
        const first = subject('u')
        await store.set(first, 1234, 3600)
        const tag = subject('bulk')
        for (let i = 0; i < 500; i += 50)
          await Promise.all(Array.from({ length: 50 }, (_, j) => store.set(`${tag}:${i + j}`, i + j, 3600)))
        expect(await store.get([first, `${tag}:499`])).toEqual([1234, 499])
      })

      it('subjects are values: quotes, JSON escapes and SQL text are kept apart; NUL is refused before any I/O', async () => {
        const { store } = make()
        const tag = subject('odd')
        const odd = ['"', '\\', "'", '","', '[]', "'); DROP TABLE x; --", 'ü 😀', '\n'].map(
          (s) => `${tag}${s}`,
        )
        for (const [i, s] of odd.entries()) await store.set(s, i + 1, 60)
        expect(await store.get(odd)).toEqual(odd.map((_, i) => i + 1))
        for (const bad of ['', 'a\0b', 'x\uD800']) {
          await expect(store.get([bad])).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
          await expect(store.set(bad, 1, 60)).rejects.toMatchObject({ code: 'ERR_SESSION_INVALID_OPTION' })
        }
      })

      it('K6 through the engine: endUserSessions ends every earlier cookie-store session of that user', async () => {
        const clock = createTestClock(Date.now())
        const { store } = make(clock)
        const manager = createSessionManager<{ n: number }>({ secret: SECRET, revocations: store, clock })
        const user = subject('ada')
        const login = async (who: string) => {
          const cycle = manager.begin({ cookieHeader: undefined })
          const session = await cycle.load()
          session.set('n', 1)
          session.bindUser(who)
          return ((await cycle.commit()).setCookie[0] ?? '').split(';')[0] ?? ''
        }
        const cookie = await login(user)
        const other = await login(subject('bob'))
        clock.advance(1)
        await manager.endUserSessions(user)
        expect((await manager.begin({ cookieHeader: cookie }).load()).isNew).toBe(true)
        expect((await manager.begin({ cookieHeader: other }).load()).isNew).toBe(false)
        clock.advance(1)
        expect((await manager.begin({ cookieHeader: await login(user) }).load()).isNew).toBe(false)
      })

      it('cleanup() deletes expired revocations only', async () => {
        const clock = createTestClock(Date.now() + 20 * 365 * 86_400_000)
        const { store } = make(clock)
        await store.cleanup()
        const [dead, live] = [subject('dead'), subject('live')]
        await store.set(dead, 1, 1)
        await store.set(live, 1, 60)
        clock.advance(2)
        expect(await store.cleanup()).toBe(1)
        clock.advance(-2)
        expect(await store.get([dead, live])).toEqual([undefined, 1])
      })
    })
  }
})
