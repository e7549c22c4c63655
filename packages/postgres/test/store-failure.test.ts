import { testId } from '@x/session-conformance-tests'
import {
  createSessionManager,
  type SessionError,
  type SessionEvent,
  type StoredSession,
} from '@x/session-core'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSessionTables, type PostgresSessionStore, postgresStore } from '../src/index.js'
import {
  describeWith,
  initCluster,
  type PostgresProcess,
  privateServerRequirement,
  signal,
  startPostgres,
  stopPostgres,
  waitFor,
  within,
} from './helpers.js'

const SECRET = 'postgres-failure-test-secret-0123456789-abcdef'
/** Every wait on the down server must settle within this (the store's timeout below is 1 s). */
const FAIL_FAST_MS = 4000

type Data = { n: number; name: string }

interface Kind {
  name: 'pg' | 'postgres.js'
  store: PostgresSessionStore
  close(): Promise<void>
  /** Sessions made while the server was up: cookie, id, and the record as stored then. */
  sessions: { cookie: string; id: string; stored: StoredSession | undefined }[]
  events: SessionEvent[]
}

/** The settings the README recommends, so a down or frozen server fails requests instead of queueing them. */
function pgKind(url: string): Kind {
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 1000 })
  // An idle connection that dies emits 'error' on the pool: without a listener Node would exit.
  pool.on('error', () => {})
  return {
    name: 'pg',
    store: postgresStore({ client: pool, timeout: 1, cleanupInterval: 0 }),
    close: () => pool.end().catch(() => undefined),
    sessions: [],
    events: [],
  }
}

function postgresJsKind(url: string): Kind {
  const sql = postgres(url, { max: 4, connect_timeout: 1, onnotice: () => {} })
  return {
    name: 'postgres.js',
    store: postgresStore({ client: sql, timeout: 1, cleanupInterval: 0 }),
    close: () => sql.end({ timeout: 1 }).catch(() => undefined),
    sessions: [],
    events: [],
  }
}

const cookieOf = (setCookie: string[]) => (setCookie[0] ?? '').split(';')[0] ?? ''

describeWith(
  'S7: a PostgreSQL that freezes, crashes and comes back (private server)',
  privateServerRequirement(),
  () => {
    let cluster: { dir: string; port: number }
    let server: PostgresProcess | undefined
    const kinds: Kind[] = []
    /** Per kind and session id: the highest version whose save answered 'ok' (acknowledged). */
    const acknowledged = new Map<string, number>()

    const managers = (kind: Kind) => ({
      fail: createSessionManager<Data>({
        secret: SECRET,
        store: kind.store,
        onEvent: (e) => kind.events.push(e),
      }),
      anonymous: createSessionManager<Data>({ secret: SECRET, store: kind.store, onStoreError: 'anonymous' }),
    })

    /** Loads a session while the server is unusable: it must fail with 503, within the bound. */
    async function expectUnavailable(kind: Kind, cookie: string) {
      const session = await within(
        FAIL_FAST_MS,
        managers(kind).fail.begin({ cookieHeader: cookie }).load(),
        `${kind.name} load`,
      )
      let error: SessionError | undefined
      try {
        session.get('n')
      } catch (e) {
        error = e as SessionError
      }
      expect(error).toMatchObject({ code: 'ERR_SESSION_STORE_UNAVAILABLE', status: 503 })
    }

    beforeAll(async () => {
      cluster = await initCluster()
      server = await startPostgres(cluster)
      const admin = new pg.Client(server.url)
      await admin.connect()
      await createSessionTables(admin)
      await admin.end()
      kinds.push(pgKind(server.url), postgresJsKind(server.url))
      for (const kind of kinds) {
        const { fail } = managers(kind)
        for (let i = 0; i < 3; i++) {
          const cycle = fail.begin({ cookieHeader: undefined })
          const session = await cycle.load()
          session.set('n', i)
          session.set('name', `${kind.name}-${i}`)
          if (i === 0) session.bindUser(`ada-${kind.name}`)
          const cookie = cookieOf((await cycle.commit()).setCookie)
          kind.sessions.push({ cookie, id: session.id, stored: await kind.store.get(session.id) })
        }
        expect(kind.sessions.every((s) => s.stored !== undefined)).toBe(true)
      }
    }, 60_000)
    afterAll(async () => {
      for (const kind of kinds) await kind.close()
      await stopPostgres(server)
    })

    it('S7: a frozen server (SIGSTOP) fails loads with 503 within the store timeout, then recovers (SIGCONT)', async () => {
      if (!server) throw new Error('no server')
      signal(server, 'SIGSTOP')
      try {
        await Promise.all(kinds.map((kind) => expectUnavailable(kind, kind.sessions[0]?.cookie ?? '')))
      } finally {
        signal(server, 'SIGCONT')
      }
      for (const kind of kinds) {
        expect(kind.events).toContainEqual(expect.objectContaining({ type: 'store-error', operation: 'get' }))
        await waitFor(
          `${kind.name} to recover`,
          async () => (await kind.store.get(kind.sessions[0]?.id ?? '')) !== undefined,
        )
      }
    })

    it('S7: saves racing a crash (SIGKILL of every server process): every acknowledged save is there after restart', async () => {
      if (!server) throw new Error('no server')
      const writers = kinds.flatMap((kind) =>
        Array.from({ length: 8 }, () => ({ kind, id: testId(), version: 0 })),
      )
      let acks = 0
      let crashed = false
      const write = async (w: (typeof writers)[number]) => {
        // Bounded by count: at most 200 saves per writer, or until the crash stops them.
        for (let i = 0; i < 200 && !crashed; i++) {
          const next = w.version + 1
          try {
            const result = await w.kind.store.set(
              w.id,
              { data: { v: next }, createdAt: 1, refreshedAt: 1, version: next },
              { ttl: 3600, expectVersion: w.version },
            )
            if (result !== 'ok') throw new Error(`unexpected ${result}`)
            w.version = next
            acknowledged.set(`${w.kind.name}:${w.id}`, next)
            acks++
          } catch {
            return
          }
        }
      }
      const running = Promise.all(writers.map(write))
      await waitFor('some acknowledged saves', () => acks >= 60)
      signal(server, 'SIGKILL')
      crashed = true
      await within(FAIL_FAST_MS * 2, running, 'the writers to stop')
      await within(5000, server.exited, 'the server to exit')
      expect(acks).toBeGreaterThanOrEqual(60)

      // While it is down: loads fail closed, untouched requests do no I/O, nothing can be written.
      for (const kind of kinds) {
        const cookie = kind.sessions[0]?.cookie ?? ''
        const { fail, anonymous } = managers(kind)
        await expectUnavailable(kind, cookie)
        expect(await within(1000, fail.begin({ cookieHeader: cookie }).commit())).toEqual({
          setCookie: [],
          headers: [],
        })
        const failed = fail.begin({ cookieHeader: cookie })
        const session = await within(FAIL_FAST_MS, failed.load())
        expect(() => session.set('n', 666)).toThrow(
          expect.objectContaining({ code: 'ERR_SESSION_STORE_UNAVAILABLE' }),
        )
        expect(await within(1000, failed.commit())).toEqual({ setCookie: [], headers: [] })
        const fresh = fail.begin({ cookieHeader: undefined })
        ;(await within(FAIL_FAST_MS, fresh.load())).set('n', 1)
        await expect(within(FAIL_FAST_MS, fresh.commit())).rejects.toMatchObject({
          code: 'ERR_SESSION_STORE_UNAVAILABLE',
          status: 503,
        })
        // onStoreError 'anonymous': an empty session that is never saved and sends no cookie.
        const anon = anonymous.begin({ cookieHeader: cookie })
        const empty = await within(FAIL_FAST_MS, anon.load())
        expect(empty.isNew).toBe(true)
        empty.set('n', 999)
        empty.set('name', 'mallory')
        expect(await within(FAIL_FAST_MS, anon.commit())).toEqual({ setCookie: [], headers: [] })
      }

      // Restarted on the same port and data directory (crash recovery replays the WAL).
      server = await startPostgres(cluster)
      for (const kind of kinds) {
        await waitFor(
          `${kind.name} to reconnect`,
          async () => (await kind.store.get(kind.sessions[0]?.id ?? '')) !== undefined,
        )
      }
      for (const w of writers) {
        const acked = acknowledged.get(`${w.kind.name}:${w.id}`)
        if (acked === undefined) continue
        const stored = await w.kind.store.get(w.id)
        // A save in flight at the crash may have committed unacknowledged (one version more).
        expect(stored?.version).toBeGreaterThanOrEqual(acked)
        expect(stored?.version).toBeLessThanOrEqual(acked + 1)
        expect(stored?.data).toEqual({ v: stored?.version })
      }
      expect(acknowledged.size).toBeGreaterThan(0)
    })

    it('S7: after the crash and restart, every session made before is there, unchanged, and loads', async () => {
      for (const kind of kinds) {
        const { fail } = managers(kind)
        for (const [i, { cookie, id, stored }] of kind.sessions.entries()) {
          expect(await kind.store.get(id)).toEqual(stored)
          const session = await fail.begin({ cookieHeader: cookie }).load()
          expect(session.isNew).toBe(false)
          expect(session.toJSON()).toEqual({ n: i, name: `${kind.name}-${i}` })
        }
        expect(await kind.store.listByUser(`ada-${kind.name}`)).toEqual([kind.sessions[0]?.id])
      }
    })
  },
)
