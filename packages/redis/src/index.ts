export type { IoRedisLike, NodeRedisLike, RedisClientLike } from './internal/client.js'
export { type NearCacheOptions, nearCacheDefaults } from './near-cache.js'
export {
  type RedisRevocationsOptions,
  redisRevocations,
  redisRevocationsDefaults,
} from './redis-revocations.js'
export {
  type CorruptReason,
  type RedisSessionStore,
  type RedisStoreEvent,
  type RedisStoreOptions,
  redisStore,
  redisStoreDefaults,
} from './redis-store.js'
