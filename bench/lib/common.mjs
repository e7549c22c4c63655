/**
 * What every benchmark server shares: the session each client starts with, the secrets, and the
 * server stores. Each app in ../apps/ serves the same four routes with the same bodies:
 *
 *   GET /untouched  -> {"ok":true}            never reads the session
 *   GET /seed?i=N   -> {"ok":true}            writes seedData(N) into a new session (Set-Cookie)
 *   GET /read       -> {"user":...,"n":...}   reads two keys, changes nothing (no Set-Cookie)
 *   GET /write      -> {"n":...}              writes a new value every request (Set-Cookie)
 */

/** Set by growth.mjs's servers (`spec.sessionBytes`): sessions of about that many bytes of JSON. */
let sessionBytes

export function setSessionBytes(bytes) {
  sessionBytes = bytes
}

/** About 200 bytes of JSON: what a login session typically holds (or `sessionBytes`, when set). */
export function seedData(i) {
  if (sessionBytes !== undefined) {
    const sized = { user: `user-${String(i).padStart(6, '0')}`, n: 0, notes: '' }
    sized.notes = 'x'.repeat(Math.max(0, sessionBytes - JSON.stringify(sized).length))
    return sized
  }
  return {
    user: `user-${String(i).padStart(6, '0')}`,
    role: 'member',
    name: 'Ada Lovelace',
    email: 'ada.lovelace@example.com',
    locale: 'en-GB',
    theme: 'dark',
    cart: ['sku-1001', 'sku-2002', 'sku-3003'],
    csrf: 'Zm9vYmFy',
    n: 0,
  }
}

export const SEED_KEYS = Object.keys(seedData(0))

/** Index from `?i=N` (the seed route only). */
export function seedIndex(url) {
  const q = url.indexOf('?i=')
  return q === -1 ? 0 : Number(url.slice(q + 3)) || 0
}

/** A counter per process, so every write stores a value the session never had. */
let counter = 0
export const nextValue = () => ++counter

/**
 * This project's store for a scenario: undefined (cookie store), a memory store, a Redis store
 * on its own connection and key prefix, or a PostgreSQL store on its own pool in the run's schema.
 * `close` deletes the keys this server wrote (Redis) or closes the pool.
 */
export async function projectStore(spec, core) {
  if (spec.store === 'cookie') return { store: undefined, close: async () => {} }
  if (spec.store === 'memory') return { store: core.memoryStore(), close: async () => {} }
  if (spec.store.startsWith('redis')) {
    const { redisStore } = await import('@x/session-redis')
    const { createClient } = await import('redis')
    const client = createClient({ url: spec.redisUrl, socket: { reconnectStrategy: false } })
    client.on('error', (error) => console.error('redis client error:', error.message))
    await client.connect()
    const near = spec.store !== 'redis'
    const prefix = near ? `${spec.redisPrefix}${spec.store}:` : spec.redisPrefix
    let tracking
    const onEvent = (event) => {
      if (event.type === 'near-cache' && event.state === 'tracking') tracking?.()
    }
    const nearCache = { strict: spec.store !== 'redis-near-loose' }
    const store = redisStore({ client, prefix, ...(near ? { nearCache, onEvent } : {}) })
    // Served only once invalidations flow, so the measured reads can be answered from the cache.
    if (near) await new Promise((resolve) => (tracking = resolve))
    return {
      store,
      close: async () => {
        const keys = []
        for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
          keys.push(...(Array.isArray(batch) ? batch : [batch]))
        }
        if (keys.length > 0) await client.del(keys)
        await client.quit()
      },
    }
  }
  if (spec.store === 'postgres') {
    const { postgresStore } = await import('@x/session-postgres')
    const pg = (await import('pg')).default
    // As many connections as the load generator keeps open: no request waits for the pool.
    const pool = new pg.Pool({ connectionString: spec.postgresUrl, max: 10 })
    pool.on('error', (error) => console.error('postgres pool error:', error.message))
    const store = postgresStore({ client: pool, schema: spec.postgresSchema, cleanupInterval: 0 })
    // The run drops its schema at the end, rows included.
    return { store, close: () => pool.end() }
  }
  throw new Error(`unknown store ${spec.store}`)
}

/** The options this project gets in every framework: defaults, plus the store. */
export function projectOptions(spec, store) {
  return store === undefined ? { secret: spec.secret } : { secret: spec.secret, store }
}

/**
 * connect-redis for express-session and @fastify/session (same store API) on its own node-redis
 * connection and key prefix, as its README sets it up; `close` deletes the keys it wrote.
 */
export async function connectRedisStore(spec) {
  const { RedisStore } = await import('connect-redis')
  const { createClient } = await import('redis')
  const client = createClient({ url: spec.redisUrl, socket: { reconnectStrategy: false } })
  client.on('error', (error) => console.error('redis client error:', error.message))
  await client.connect()
  const prefix = `${spec.redisPrefix}peer:`
  return {
    store: new RedisStore({ client, prefix }),
    close: async () => {
      const keys = []
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        keys.push(...(Array.isArray(batch) ? batch : [batch]))
      }
      if (keys.length > 0) await client.del(keys)
      await client.quit()
    },
  }
}
