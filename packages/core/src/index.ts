export { SessionError, SessionErrorCode } from './errors.js'
export type { SessionEvent, InvalidReason } from './events.js'
export type { SessionStore, StoredSession, StoreSetOptions } from './store.js'
