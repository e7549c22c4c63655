/**
 * Core's generic types and manager factory, with this package's `SessionData` as their default:
 * once it is augmented (`declare module '@x/session-koa' { interface SessionData { ... } }`),
 * `Session` and `createSessionManager()` without a type argument know its keys.
 */
import {
  type Session as CoreSession,
  type SessionApi as CoreSessionApi,
  type SessionCycle as CoreSessionCycle,
  type SessionManager as CoreSessionManager,
  createSessionManager as coreCreateSessionManager,
  type SessionOptions,
} from '@x/session-core'
import type { SessionData } from './index.js'

/** A session: its API, and its data as typed optional properties. */
export type Session<D extends object = SessionData> = CoreSession<D>
/** The methods and metadata of a session. */
export type SessionApi<D extends object = SessionData> = CoreSessionApi<D>
/** One request's session lifecycle (for adapter authors). */
export type SessionCycle<D extends object = SessionData> = CoreSessionCycle<D>
/** What `createSessionManager()` returns: pass it as `{ manager }` to reach it from your code. */
export type SessionManager<D extends object = SessionData> = CoreSessionManager<D>
/** A manager to share between the middleware (`{ manager }`) and your code (`endUserSessions`). */
export const createSessionManager: <D extends object = SessionData>(
  options: SessionOptions,
) => SessionManager<D> = coreCreateSessionManager
