import Iron from '@hapi/iron'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createSessionManager,
  inspectSeal,
  inspectSession,
  memoryStore,
  type SessionOptions,
} from '../src/index.js'
import { generateSessionId } from '../src/internal/ids.js'
import { PAYLOAD_VERSION, payloadJson, readPayload } from '../src/internal/payload.js'
import { createSealer } from '../src/internal/sealer.js'
import { createTestClock } from '../src/testing.js'

// biome-ignore lint/suspicious/noExplicitAny: tests reach into arbitrary session data and its methods
type Loose = any

/**
 * Cookies sealed by the release before the version-2 payload (256-bit salts, `{ v: 1, id, n, c, r,
 * d, u?, l? }` with epoch-ms times), frozen as that code sent them at {@link FIXTURE_TIME} with
 * {@link FIXTURE_SECRET} and the default options: they must stay sessions.
 */
const FIXTURE_SECRET = 'fixture-secret-of-the-0.x-cookie-format!'
const FIXTURE_TIME = 1_767_225_600_000 // 2026-01-01T00:00:00Z
const V1 = {
  /** `s.n = 1` */
  plain:
    'session=Fe26.2**96303b5f5e06fdd1911acb6d3bad2021213276f7f11a5d6f8e4515cbf508adec*_1xWQ0-r6z6rJTl8Ib7F6g*c7zc0td06SqmRRCSAnLN5DSKDRECFXuSPA9EpeUM2YUhV5ap9z8Y2H1RXcX86KkH4XAvGBPcQuexQfRvJ5m4Iu2IZSIK3o7qn74KAy54icX6QMajmVdZEziFeeYlj_YbuDSXNPfs7nJMI8UI6ZLSFQ*1767830400000*94b3f1c996b6647721ed85ecdbdd3cb74c358e46b00dc473b1e79543f9dc621f*y6mQdMprmvsk0EAMRBB_sVAqNdYz88I_Ug_GpIMlAZk',
  /** `s.n = 2; s.bindUser('ada'); s.setLifetime({ idleTimeout: 3600, browserSession: true })` */
  bound:
    'session=Fe26.2**96303b5f5e06fdd1911acb6d3bad2021213276f7f11a5d6f8e4515cbf508adec*O6XiKfv_VDYVJvXpZ4EbEQ*h9OOiMNPhs9UmaN7j_CWegLtVunSSTpUw_zOKVs-09qKKdhizdYOHkZHtP66ticrT7L4pgP26vOzkDMBxjfFrGkF3xjWdtD3wetr3Dc9QHd454tfrUlm38QAvKsAtE6NI4WEVXHNJThEGCfbl4sHpW6G36LHRGaFQn3bWwVWlnResK8298Nz1fVJDd4Ag9Q6*1767229200000*94b3f1c996b6647721ed85ecdbdd3cb74c358e46b00dc473b1e79543f9dc621f*qLXe2VHFe3wUcPtt10q3JD5Yeht5pQBQHRgSXkkU3Bs',
  /** `s.n = 3` under `cookie: { name: 'sid' }` */
  sid: 'sid=Fe26.2**14d2233fbf22f9ff3f1a46b9cdf464b1a683e8fac8dc8b58899fdbb84f00ce68*IxmmDO-tMpA806BhZ28ogw*ukULpfLZA2b4ceJMQbAxwRTSWJJBWZPSl5oWN3hlUYsu8erD0LwiMvSzYjEMkjJ7EWGr1PRdsRecJ8aPdzlmuPbxFkgPCkDreijfdGf7Y_VSvDA_QDANB8AGOBoEB7vRqVKNHpoLwV3fTwFK4OOyrA*1767830400000*e909113a4c7d0fb91e6d07ecb2c3af073aa98253ecc7cd22d3e81a5f8adfece3*VBFhQwee7nqg4CbNJLzClzSwHldI-guEQT4d2yPi9DQ',
}

/** One request: the session it loaded (after `handle`) and the `name=value` pairs it set. */
async function request(
  options: SessionOptions,
  cookieHeader: string | undefined,
  handle?: (s: Loose) => void,
) {
  const cycle = createSessionManager(options).begin({ cookieHeader })
  const session = (await cycle.load()) as Loose
  handle?.(session)
  const { setCookie } = await cycle.commit()
  return { session, pairs: setCookie.map((line) => line.split(';')[0] as string) }
}

describe('the sealed payload, version 2', () => {
  it('a one-number session cookie (name and value) takes at most 250 bytes', async () => {
    const clock = createTestClock()
    const { pairs } = await request({ secret: FIXTURE_SECRET, clock }, undefined, (s) => {
      s.n = 1
    })
    expect(pairs).toHaveLength(1)
    expect(Buffer.byteLength(pairs[0] as string)).toBeLessThanOrEqual(250)
  })

  it('K5: @hapi/iron opens it with the secret as its password: version, id, exact creation, data', async () => {
    const clock = createTestClock(Date.UTC(2030, 0, 1, 0, 0, 0, 123))
    const { session, pairs } = await request({ secret: { k1: FIXTURE_SECRET }, clock }, undefined, (s) => {
      s.n = 1
    })
    const token = (pairs[0] as string).slice('session='.length)
    const payload = await Iron.unseal(token, { k1: FIXTURE_SECRET }, Iron.defaults)
    expect(payload).toEqual({ v: 2, i: session.id, c: clock(), r: 0, d: { n: 1 } })
  })

  it('T4: the cookie name is sealed unless it is "session", and a seal for one name is no session under another', async () => {
    const clock = createTestClock()
    const named = await request(
      { secret: FIXTURE_SECRET, clock, cookie: { name: 'sid' } },
      undefined,
      (s) => {
        s.n = 1
      },
    )
    const plain = await request({ secret: FIXTURE_SECRET, clock }, undefined, (s) => {
      s.n = 1
    })
    const open = (pair: string) =>
      Iron.unseal(pair.slice(pair.indexOf('=') + 1), FIXTURE_SECRET, Iron.defaults)
    expect(await open(named.pairs[0] as string)).toMatchObject({ n: 'sid' })
    expect(await open(plain.pairs[0] as string)).not.toHaveProperty('n')
    const sidValue = (named.pairs[0] as string).slice('sid='.length)
    const sessionValue = (plain.pairs[0] as string).slice('session='.length)
    for (const [name, value] of [
      ['session', sidValue],
      ['sid', sessionValue],
    ] as const) {
      const { session } = await request(
        { secret: FIXTURE_SECRET, clock, cookie: { name } },
        `${name}=${value}`,
      )
      expect(session.isNew, name).toBe(true)
    }
    const back = await request({ secret: FIXTURE_SECRET, clock, cookie: { name: 'sid' } }, named.pairs[0])
    expect(back.session.n).toBe(1)
  })

  it('keeps createdAt to the millisecond and never moves refreshedAt back: the idle window still ends on time', async () => {
    const start = Date.UTC(2030, 0, 1, 0, 0, 0, 250)
    const clock = createTestClock(start)
    const options = { secret: FIXTURE_SECRET, clock, idleTimeout: 60, rolling: false } as const
    let { pairs } = await request(options, undefined, (s) => {
      s.n = 1
    })
    clock.set(start + 1_500) // a write 1.5 s in: refreshed at a fraction of a second
    ;({ pairs } = await request(options, pairs[0], (s) => {
      s.n = 2
    }))
    const refreshed = start + 1_500
    clock.set(refreshed + 60_000 - 1)
    const last = await request(options, pairs[0])
    expect(last.session.isNew).toBe(false)
    expect(last.session.createdAt.getTime()).toBe(start)
    clock.set(refreshed + 60_000)
    expect((await request(options, pairs[0])).session.isNew).toBe(true)
  })

  it('payloadJson and readPayload agree: id, name, user, lifetime and data as given, c exact, r rounded up to a second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 400 * 86_400_000 }),
        fc.constantFrom('session', 'sid', '__Host-s'),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.boolean(),
        (createdAt, since, cookieName, user, cookieStore) => {
          const id = generateSessionId()
          const lifetime = user === undefined ? undefined : { i: 60, b: 1 as const }
          const json = payloadJson({
            id,
            cookieName,
            createdAt,
            refreshedAt: createdAt + since,
            dataJson: cookieStore ? '{"n":1}' : undefined,
            user,
            lifetime,
          })
          const read = readPayload(JSON.parse(json), cookieName, cookieStore)
          expect(read).toBeDefined()
          expect(read?.v).toBe(PAYLOAD_VERSION)
          expect(read?.id).toBe(id)
          expect(read?.c).toBe(createdAt)
          expect(read?.r).toBeGreaterThanOrEqual(createdAt + since)
          expect(read?.r).toBeLessThan(createdAt + since + 1000)
          expect(read?.u).toBe(user)
          expect(read?.l).toEqual(lifetime)
          expect(read?.d).toEqual(cookieStore ? { n: 1 } : undefined)
        },
      ),
    )
  })

  it('T6: an unknown version, or a version-2 payload of the wrong shape, is no session', () => {
    const id = generateSessionId()
    const good = { v: 2, i: id, c: FIXTURE_TIME, r: 0, d: {} }
    expect(readPayload(good, 'session', true)).toBeDefined()
    const wrong: unknown[] = [
      { ...good, v: 3 },
      { ...good, v: 0 },
      { ...good, v: '2' },
      { ...good, i: 'short' },
      { v: 2, id, c: FIXTURE_TIME, r: 0, d: {} }, // version 1's key for the id
      { ...good, c: FIXTURE_TIME + 0.5 },
      { ...good, r: -1 },
      { ...good, r: 0.5 },
      { ...good, c: Number.MAX_SAFE_INTEGER, r: 1 },
      { ...good, n: 'sid' },
      { ...good, n: 1 },
      { ...good, d: [1] },
      { ...good, u: 1 },
      { ...good, l: { i: 0 } },
      // Version 1's time rule stays: refreshed before created is no session.
      { v: 1, id, n: 'session', c: FIXTURE_TIME, r: FIXTURE_TIME - 1, d: {} },
    ]
    for (const payload of wrong)
      expect(readPayload(payload, 'session', true), JSON.stringify(payload)).toBeUndefined()
    // The server store's token carries no data, and the cookie store's always does.
    expect(readPayload(good, 'session', false)).toBeUndefined()
    const { d: _d, ...bare } = good
    expect(readPayload(bare, 'session', false)).toBeDefined()
    expect(readPayload(bare, 'session', true)).toBeUndefined()
  })

  it('T6: a seal of an unknown payload version is no session through the engine, reported as bad-payload', async () => {
    const clock = createTestClock()
    const events: { type: string; reason?: string }[] = []
    const options = { secret: FIXTURE_SECRET, clock, onEvent: (e: Loose) => events.push(e) }
    const token = await createSealer(FIXTURE_SECRET).seal(
      { v: 3, i: generateSessionId(), c: clock(), r: 0, d: { n: 1 } },
      clock() + 60_000,
    )
    const { session } = await request(options, `session=${token}`)
    expect(session.isNew).toBe(true)
    expect(events).toContainEqual(expect.objectContaining({ type: 'invalid', reason: 'bad-payload' }))
  })
})

describe('cookies sealed by the previous release (payload version 1)', () => {
  const at = (ms: number) => ({ secret: FIXTURE_SECRET, clock: () => ms })

  it('are still sessions: data, id, times, bound user and own lifetime as sealed', async () => {
    const now = FIXTURE_TIME + 60_000
    const plain = await request(at(now), V1.plain)
    expect(plain.session.isNew).toBe(false)
    expect(plain.session.n).toBe(1)
    expect(plain.session.createdAt.getTime()).toBe(FIXTURE_TIME)
    expect(plain.pairs).toEqual([]) // read and unchanged: nothing re-sent
    const bound = await request(at(now), V1.bound)
    expect(bound.session.n).toBe(2)
    expect(bound.session.boundUser).toBe('ada')
    const sid = await request({ ...at(now), cookie: { name: 'sid' } }, V1.sid)
    expect(sid.session.n).toBe(3)
  })

  it('keep their bindings and limits: another cookie name, their own idle timeout', async () => {
    const now = FIXTURE_TIME + 60_000
    expect((await request(at(now), V1.sid.replace(/^sid=/, 'session='))).session.isNew).toBe(true)
    expect(
      (await request({ ...at(now), cookie: { name: 'sid' } }, V1.plain.replace(/^session=/, 'sid='))).session
        .isNew,
    ).toBe(true)
    // Sealed with its own one-hour idle timeout.
    expect((await request(at(FIXTURE_TIME + 3_600_000), V1.bound)).session.isNew).toBe(true)
  })

  it('are re-sealed as version 2 on their next write, and smaller', async () => {
    const now = FIXTURE_TIME + 60_000
    const { session, pairs } = await request(at(now), V1.plain, (s) => {
      s.n = 5
    })
    expect(pairs).toHaveLength(1)
    expect((pairs[0] as string).length).toBeLessThan(V1.plain.length)
    const inspected = await inspectSession(pairs[0] as string, { secret: FIXTURE_SECRET, now })
    expect(inspected).toMatchObject({ ok: true, payloadVersion: 2, id: session.id, createdAt: FIXTURE_TIME })
    const old = await inspectSession(V1.plain, { secret: FIXTURE_SECRET, now })
    expect(old).toMatchObject({ ok: true, payloadVersion: 1, id: session.id, createdAt: FIXTURE_TIME })
  })

  it('inspectSeal reads their key id and expiry as it reads a version-2 seal', async () => {
    const old = inspectSeal(V1.plain.slice('session='.length))
    expect(old).toEqual({ keyId: '', expiresAt: new Date(FIXTURE_TIME + 7 * 86_400_000) })
    const { pairs } = await request(at(FIXTURE_TIME), undefined, (s) => {
      s.n = 1
    })
    expect(inspectSeal((pairs[0] as string).slice('session='.length))).toEqual(old)
  })

  it('K5: @hapi/iron still opens them', async () => {
    const token = V1.plain.slice('session='.length)
    // Iron checks its expiry against the real time: read as at a minute after sealing.
    const localtimeOffsetMsec = FIXTURE_TIME + 60_000 - Date.now()
    const payload = await Iron.unseal(token, FIXTURE_SECRET, { ...Iron.defaults, localtimeOffsetMsec })
    expect(payload).toMatchObject({ v: 1, n: 'session', c: FIXTURE_TIME, r: FIXTURE_TIME, d: { n: 1 } })
  })

  it('a server-store token of version 1 still names its session', async () => {
    const store = memoryStore()
    const clock = createTestClock()
    const options = { secret: FIXTURE_SECRET, clock, store }
    const { session } = await request(options, undefined, (s) => {
      s.n = 7
    })
    // The token the previous release would have sealed for this record.
    const token = await createSealer(FIXTURE_SECRET).seal(
      { v: 1, id: session.id, n: 'session', c: clock(), r: clock() },
      clock() + 86_400_000,
    )
    expect((await request(options, `session=${token}`)).session.n).toBe(7)
  })
})
