import { memoryRevocations, memoryStore, SessionError } from '@x/session-core'
import { createTestClock } from '@x/session-core/testing'
import { describe, expect, it } from 'vitest'
import { describeRevocationConformance, describeStoreConformance, testId } from '../src/index.js'

describeStoreConformance({ name: 'memory', maxEntries: 10_000, create: (clock) => memoryStore({ clock }) })
// A store without `apply`: the engine's version-checked path, re-applying on a conflict.
describeStoreConformance({
  name: 'memory without apply',
  apply: false,
  create: (clock) => ({ ...memoryStore({ clock }), apply: undefined }),
})
// A store without a per-user index: S6 is reported as not supported, the rest runs.
describeStoreConformance({
  name: 'memory without a per-user index',
  userIndex: false,
  create: (clock) => ({ ...memoryStore({ clock }), listByUser: undefined, deleteByUser: undefined }),
})

describe('memory store bounds', () => {
  it('keeps at most maxEntries, dropping the least recently written', async () => {
    const store = memoryStore({ maxEntries: 3 })
    const ids = Array.from({ length: 5 }, () => testId())
    for (const id of ids)
      await store.set(id, { data: {}, createdAt: 0, refreshedAt: 0, version: 1 }, { ttl: 60 })
    expect(store.size).toBe(3)
    expect(await store.get(ids[0] as string)).toBeUndefined()
    expect(await store.get(ids[4] as string)).toBeDefined()
  })
})

describeRevocationConformance({ name: 'memory', create: (clock) => memoryRevocations({ clock }) })
describeRevocationConformance({
  name: 'memory (maxEntries: 100, full)',
  create: (clock) => memoryRevocations({ clock, maxEntries: 100 }),
})

describe('memoryRevocations at its bound', () => {
  it('K7: drops expired revocations first, then refuses with ERR_SESSION_REVOCATIONS_FULL and keeps every one', async () => {
    const clock = createTestClock()
    const store = memoryRevocations({ clock, maxEntries: 3 })
    await store.set('u:short', 1, 1)
    await store.set('u:a', 2, 60)
    await store.set('u:b', 3, 60)
    clock.advance(2)
    // u:short expired: its place is reused.
    await store.set('u:c', 4, 60)
    const error = await store.set('u:d', 5, 60).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(SessionError.is(error) && error.code).toBe('ERR_SESSION_REVOCATIONS_FULL')
    expect(await store.get(['u:a', 'u:b', 'u:c', 'u:d'])).toEqual([2, 3, 4, undefined])
    // A kept subject can still be raised when full: that needs no new entry.
    await store.set('u:a', 9, 60)
    expect(await store.get(['u:a'])).toEqual([9])
  })
})
