export { SessionError, SessionErrorCode } from './errors.js'
export type { InvalidReason, SessionEvent } from './events.js'
export { isSessionId } from './internal/ids.js'
export {
  type CommitResult,
  createSessionManager,
  type HeaderSource,
  type ManagerSource,
  type RequestInfo,
  type ResponseInfo,
  resolveManager,
  type SessionCycle,
  type SessionManager,
} from './manager.js'
export { type MemoryStoreOptions, memoryRevocations, memoryStore } from './memory-store.js'
export {
  defaults,
  type SessionCookieOptions,
  type SessionOptions,
  type StoreFailurePolicy,
  type TokenHeaderOptions,
} from './options.js'
export { inspectSeal, type SealInfo } from './seal-info.js'
export { RESERVED_KEYS, type Session, type SessionApi, type SessionData } from './session.js'
export type { RevocationStore, SessionStore, StoredSession, StoreSetOptions } from './store.js'
