import type { StoreCase } from '@x/session-conformance-tests'
import { memoryStore } from '@x/session-core'
import { redisStore } from '@x/session-redis'
import { createClient } from 'redis'
import { deleteKeys, probe, REDIS_URL, uniquePrefix } from './helpers.js'

/**
 * The server stores every adapter's conformance suite runs over: the memory store and, when Redis
 * answers at REDIS_URL, the Redis store. Locally a missing Redis skips it with a one-line reason;
 * on CI (`CI=true`) it fails the run, so a green CI always means Redis was tested.
 */
export async function serverStoreCases(): Promise<StoreCase[]> {
  const cases: StoreCase[] = [{ name: 'memory store', create: (clock) => memoryStore({ clock }) }]
  const redis = await probe()
  if (!redis.ok) {
    if (process.env.CI === 'true')
      throw new Error(`Redis store cases: ${redis.reason} (CI=true, so this fails)`)
    console.warn(`skipped: adapter conformance over Redis: ${redis.reason}`)
    return cases
  }
  const client = createClient({ url: REDIS_URL, disableOfflineQueue: true })
  const prefixes: string[] = []
  let connected: Promise<unknown> | undefined
  cases.push({
    name: 'redis store',
    async create(clock) {
      connected ??= client.connect()
      await connected
      const prefix = uniquePrefix('conformance')
      prefixes.push(prefix)
      // The suite moves its clock: pass it, so records expire by it as the engine sees them.
      return redisStore({ client, clock, prefix })
    },
    async dispose() {
      for (const prefix of prefixes) await deleteKeys(REDIS_URL, prefix)
      if (connected) await client.close()
    },
  })
  return cases
}
