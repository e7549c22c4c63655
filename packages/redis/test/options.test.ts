import { testId } from '@x/session-conformance-tests'
import { SessionError } from '@x/session-core'
import { describe, expect, it } from 'vitest'
import { type IoRedisLike, type NodeRedisLike, redisStore } from '../src/index.js'

const record = { data: {}, createdAt: 1, refreshedAt: 1, version: 1 }

/** An ioredis-shaped client that records every call and answers like an empty Redis. */
function fakeIoredis(
  evalsha: (sha: string, ...rest: string[]) => Promise<unknown> = async () => [null, null, null, null, null],
) {
  const calls: string[][] = []
  const client: IoRedisLike = {
    async evalsha(sha, _n, ...rest) {
      calls.push(['EVALSHA', sha, ...rest])
      return evalsha(sha, ...rest)
    },
    async eval(source, _n, ...rest) {
      calls.push(['EVAL', source.slice(0, 10), ...rest])
      return [null, null, null, null, null]
    },
    defineCommand: () => undefined,
  }
  return { client, calls }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return SessionError.is(error) ? error.code : undefined
}

describe('redisStore options', () => {
  it('refuses a client it cannot drive, with a message that says what to pass', () => {
    for (const client of [undefined, null, {}, { get() {} }, { eval() {} }, 'redis://localhost']) {
      let error: unknown
      try {
        redisStore({ client: client as never })
      } catch (e) {
        error = e
      }
      expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_INVALID_OPTION')
      expect(String((error as Error).message)).toMatch(/node-redis|ioredis/)
    }
    expect(() => redisStore(undefined as never)).toThrow(SessionError)
  })

  it('refuses a prefix with braces (they would decide the Cluster slot of every key), and a clock or onEvent that is no function', () => {
    const { client } = fakeIoredis()
    for (const prefix of ['a{b}:', '{', '}', 1 as never]) {
      expect(() => redisStore({ client, prefix })).toThrow(
        expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
      )
    }
    expect(() => redisStore({ client, prefix: '' })).not.toThrow()
    expect(() => redisStore({ client, clock: 5 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
    )
    expect(() => redisStore({ client, onEvent: 'log' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_SESSION_INVALID_OPTION' }),
    )
  })

  it('detects node-redis by evalSha({ keys, arguments }) and ioredis by positional evalsha', async () => {
    const seen: unknown[] = []
    const node: NodeRedisLike = {
      async evalSha(sha, options) {
        seen.push(['evalSha', sha, options])
        return [null, null, null, null, null]
      },
      async eval() {
        throw new Error('not reached')
      },
    }
    const id = testId()
    expect(await redisStore({ client: node, prefix: 'p:' }).get(id)).toBeUndefined()
    expect(seen).toEqual([
      ['evalSha', expect.stringMatching(/^[0-9a-f]{40}$/), { keys: [`p:{${id}}`], arguments: [] }],
    ])

    const io = fakeIoredis()
    expect(await redisStore({ client: io.client, prefix: 'p:' }).get(id)).toBeUndefined()
    expect(io.calls).toEqual([['EVALSHA', expect.stringMatching(/^[0-9a-f]{40}$/), `p:{${id}}`]])
  })

  it('falls back to EVAL only on NOSCRIPT; other errors reach the caller unchanged', async () => {
    const noscript = fakeIoredis(async () => {
      throw new Error('NOSCRIPT No matching script. Please use EVAL.')
    })
    await redisStore({ client: noscript.client }).get(testId())
    expect(noscript.calls.map((c) => c[0])).toEqual(['EVALSHA', 'EVAL'])

    const down = new Error('connection is closed')
    const failing = fakeIoredis(async () => {
      throw down
    })
    await expect(redisStore({ client: failing.client }).get(testId())).rejects.toBe(down)
    expect(failing.calls.map((c) => c[0])).toEqual(['EVALSHA'])
  })

  it('S8: ids are validated before any I/O', async () => {
    const { client, calls } = fakeIoredis()
    const store = redisStore({ client })
    for (const bad of [
      '',
      'a'.repeat(23),
      'a'.repeat(25),
      `${'a'.repeat(22)}}{`,
      `${'a'.repeat(23)}*`,
      '__proto__',
      42,
    ]) {
      const id = bad as string
      expect(await codeOf(store.get(id))).toBe('ERR_SESSION_INVALID_ID')
      expect(await codeOf(store.set(id, record, { ttl: 60 }))).toBe('ERR_SESSION_INVALID_ID')
      expect(await codeOf(store.delete(id))).toBe('ERR_SESSION_INVALID_ID')
      expect(await codeOf(store.touch(id, 60, 1))).toBe('ERR_SESSION_INVALID_ID')
    }
    expect(calls).toEqual([])
  })

  it('refuses nonsensical ttls, versions and users before any I/O', async () => {
    const { client, calls } = fakeIoredis()
    const store = redisStore({ client })
    const id = testId()
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60' as never]) {
      expect(await codeOf(store.set(id, record, { ttl }))).toBe('ERR_SESSION_INVALID_OPTION')
      expect(await codeOf(store.touch(id, ttl, 1))).toBe('ERR_SESSION_INVALID_OPTION')
    }
    expect(await codeOf(store.set(id, record, { ttl: 60, expectVersion: -1 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await codeOf(store.set(id, { ...record, version: 1.5 }, { ttl: 60 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await codeOf(store.set(id, { ...record, user: '' }, { ttl: 60 }))).toBe(
      'ERR_SESSION_INVALID_OPTION',
    )
    expect(await codeOf(store.set(id, { ...record, data: { n: 1n } }, { ttl: 60 }))).toBe(
      'ERR_SESSION_NOT_SERIALIZABLE',
    )
    expect(await codeOf(store.listByUser(42 as never))).toBe('ERR_SESSION_INVALID_OPTION')
    expect(calls).toEqual([])
  })
})
