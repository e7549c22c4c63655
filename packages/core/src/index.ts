export {
  type AdoptedSession,
  type ConnectStore,
  type ExpressSessionCookiesOptions,
  expressSessionCookies,
  type IronSessionCookiesOptions,
  ironSessionCookies,
  type LegacySessionReader,
} from './adopt.js'
export {
  type ConnectSessionRecord,
  type ConnectSessionStore,
  type ConnectStoreEvent,
  type ConnectStoreOptions,
  connectStore,
} from './connect-store.js'
export { SessionError, SessionErrorCode } from './errors.js'
export type { InvalidReason, SessionEvent } from './events.js'
export {
  type InspectFailure,
  type InspectOptions,
  type InspectResult,
  inspectSession,
  type SessionInspection,
} from './inspect.js'
export { checkDataSize, DEFAULT_MAX_DATA_SIZE } from './internal/data-size.js'
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
  type UpgradeRequest,
} from './manager.js'
export {
  type MemoryRevocationsOptions,
  type MemoryStoreOptions,
  memoryRevocations,
  memoryStore,
} from './memory-store.js'
export {
  defaults,
  type SessionCookieOptions,
  type SessionOptions,
  type StoreFailurePolicy,
  type TokenHeaderOptions,
} from './options.js'
export { inspectSeal, type SealInfo } from './seal-info.js'
export { RESERVED_KEYS, type Session, type SessionApi, type SessionData } from './session.js'
export type {
  PeekableStore,
  RevocationStore,
  SessionChange,
  SessionStore,
  StoreCapability,
  StoredSession,
  StoreSetOptions,
} from './store.js'
export { freezeRecord } from './store.js'
