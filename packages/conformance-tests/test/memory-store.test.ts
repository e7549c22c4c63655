import { memoryStore } from '@x/session-core'
import { describe, expect, it } from 'vitest'
import { describeStoreConformance, testId } from '../src/index.js'

describeStoreConformance({ name: 'memory', create: (clock) => memoryStore({ clock }) })

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
