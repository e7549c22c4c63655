/**
 * One request's session, in the order its events happen: read what the request carries, load (the
 * token, the store, the clock), hand the session to the app, and commit (the store, the seal, the
 * headers). Each step is decided elsewhere: `token-transport.ts` reads the token, `validity.ts`
 * judges time and keys, `store-io.ts` talks to the stores, `response-headers.ts` writes what goes
 * back. Per-request state lives in this class's fields: the concerns are functions, so splitting
 * them costs no object per request.
 */
import { SessionError, SessionErrorCode } from '../errors.js'
import type { CommitResult, RequestInfo, ResponseInfo, SessionCycle } from '../manager.js'
import type { ResolvedOptions } from '../options.js'
import { changing, createSession, type Session, type SessionHost, type SessionState } from '../session.js'
import { adoptInto, type LegacyCookie, legacyCookiesOf, retireLegacy } from './adoption.js'
import { planCommit, type Step, unsentChange } from './commit-plan.js'
import { type ContextRunner, kContextRunner } from './context-key.js'
import { freshState, kEnded, sessionIdOf, stateOf } from './request-state.js'
import { clearingHeaders, NO_HEADERS, tokenHeaders } from './response-headers.js'
import type { Sealer } from './sealer.js'
import * as host from './session-host.js'
import { type Claim, openClaim, payloadOf } from './session-token.js'
import { checkClaim, endSession, peekRecord, storeCommit, storeFailed } from './store-io.js'
import { type Prelude, readPrelude } from './token-transport.js'
import {
  expiredReason,
  expiresAt as expiryOf,
  refreshDue,
  rotationDue,
  sealExpiry,
  tokenReusable,
} from './validity.js'

const NO_LEGACY: readonly LegacyCookie[] = Object.freeze([])

export class Cycle<D extends object> implements SessionCycle<D>, SessionHost {
  #opts: ResolvedOptions
  #sealer: Sealer
  #request: RequestInfo
  #response: ResponseInfo | undefined
  /** What the request carries, read once (at the first load). */
  #prelude: Prelude | undefined
  /** Cookies of a library being left (`adopt`), read only when the request carries no session of this one. */
  #legacy: readonly LegacyCookie[] | undefined
  /** The legacy session carried over into this request's session: retired once the commit is done. */
  #adopted: LegacyCookie | undefined
  /** A claim the synchronous path opened but could not finish (it needs the store). */
  #claim: Claim | undefined
  #state: Promise<SessionState> | undefined
  #resolved: SessionState | undefined
  #session: Promise<Session<D>> | undefined
  #onChange: (() => void) | undefined
  #loaded: Session<D> | undefined
  #commit: Promise<CommitResult> | undefined
  /** What a synchronous commit answered. */
  #committed: CommitResult | undefined
  /** A session ended by `assign(null)` whose record or revocation `commit()` must still write. */
  #pendingEnd: { id: string; createdAt: number } | undefined

  constructor(opts: ResolvedOptions, sealer: Sealer, request: RequestInfo, response?: ResponseInfo) {
    this.#opts = opts
    this.#sealer = sealer
    this.#request = request
    this.#response = response
  }

  get loaded() {
    return this.#resolved !== undefined || this.#state !== undefined
  }

  get session() {
    return this.#loaded
  }

  get cookieName() {
    return this.#opts.cookie.name
  }

  get syncCommit() {
    const state = this.#resolved
    // With revocations, `assign(null)` leaves a revocation for the commit to write: it may have to wait.
    return (
      state !== undefined &&
      !state.socket &&
      !this.#opts.store &&
      !this.#opts.revocations &&
      this.#sealer.sealSync !== undefined &&
      !this.#legacy?.length
    )
  }

  run<T>(fn: () => T): T {
    const runner = (globalThis as Record<symbol, ContextRunner | undefined>)[kContextRunner]
    return runner ? runner.run(this as SessionCycle<object>, fn) : fn()
  }

  // --- load ------------------------------------------------------------------------------------

  load(): Promise<Session<D>> {
    if (!this.#session) {
      const loaded = this.loadSync()
      // Promises only for callers that ask for one: the synchronous path allocates none.
      if (loaded) this.#session = Promise.resolve(loaded)
    }
    return this.#session as Promise<Session<D>>
  }

  loadSync(): Session<D> | undefined {
    if (this.#loaded !== undefined || this.#state !== undefined) return this.#loaded
    const state = this.#readSync()
    if (state) return this.#settle(state)
    this.#state = this.#read()
    this.#session = this.#state.then((later) => this.#settle(later))
    return undefined
  }

  #settle(state: SessionState): Session<D> {
    this.#resolved = state
    this.#loaded = createSession<D>(state, this)
    const listener = this.#onChange
    if (listener !== undefined) {
      this.#onChange = undefined
      this.#watch(state, listener)
    }
    return this.#loaded
  }

  onChange(listener: () => void): void {
    const state = this.#resolved
    if (state === undefined) this.#onChange = listener
    else this.#watch(state, listener)
  }

  /** Calls `listener` now if the commit may already send something, else at the first change. */
  #watch(state: SessionState, listener: () => void): void {
    const pending =
      state.dirty ||
      state.forceEmit ||
      state.forceRefresh ||
      state.pendingWrite ||
      state.status === 'destroyed' ||
      (!state.isNew &&
        (refreshDue(state, this.#readAt(), this.#opts) || rotationDue(state, this.#sealer.currentKeyId)))
    if (pending) listener()
    else state.onChange = listener
  }

  /** The time the request was read: decisions judged at load and at commit then agree. */
  #readAt(): number {
    return this.#prelude?.now ?? this.#opts.clock()
  }

  #readPrelude(): Prelude {
    this.#prelude ??= readPrelude(this.#opts, this.#request)
    return this.#prelude
  }

  /** The session, when it can be had without waiting; see `loadSync()`. */
  #readSync(): SessionState | undefined {
    const { value, now, socket } = this.#readPrelude()
    if (value === undefined)
      return this.#legacyCookies(socket).length > 0 ? undefined : freshState(now, socket)
    const { absoluteMs, store, revocations } = this.#opts
    const unsealed =
      this.#sealer.unsealSync?.(value, now, absoluteMs) ?? this.#sealer.unsealCached(value, now, absoluteMs)
    if (!unsealed) return undefined
    const claim = openClaim(this.#opts, unsealed, value)
    if (!claim) return freshState(now, socket)
    // With revocations every cookie-store session is checked (`s:<id>`, and `u:<user>` when bound):
    // only apps that configure them pay for the round trip.
    if (store || revocations) {
      this.#claim = claim
      // A store holding the record in this process (memory store) answers in this tick; anything
      // else it would have to say (a miss, an expiry to delete) goes the asynchronous way.
      const record = revocations ? undefined : peekRecord(store, claim.id)
      if (
        record === undefined ||
        expiredReason(record.createdAt, record.refreshedAt, claim.lifetime, now, this.#opts)
      )
        return undefined
      return stateOf(this.#opts, claim, record, now, socket) as SessionState
    }
    const built = stateOf(this.#opts, claim, undefined, now, socket)
    return built === kEnded ? freshState(now, socket) : built
  }

  async #read(): Promise<SessionState> {
    const { value, now, socket } = this.#readPrelude()
    if (value === undefined) return this.#adopt(now, socket)
    const claim =
      this.#claim ??
      openClaim(this.#opts, await this.#sealer.unseal(value, now, this.#opts.absoluteMs), value)
    if (!claim) return freshState(now, socket)
    this.#claim = claim
    let state: SessionState | typeof kEnded
    try {
      state = await checkClaim(this.#opts, claim, now, socket)
    } catch (error) {
      return storeFailed(this.#opts, error, now, socket)
    }
    return state === kEnded ? freshState(now, socket) : state
  }

  /** The legacy cookies (`adopt`) of a request that carries no session of this library. */
  #legacyCookies(socket: boolean): readonly LegacyCookie[] {
    // A socket can never be sent the new cookie, nor a header-transport client the clearing.
    this.#legacy ??=
      !socket && this.#prelude?.transport === 'cookie' && this.#opts.adopt.length > 0
        ? legacyCookiesOf(this.#opts, this.#request.cookieHeader)
        : NO_LEGACY
    return this.#legacy
  }

  /** A new session, carrying over the first legacy session the request's old cookies name, if any. */
  async #adopt(now: number, socket: boolean): Promise<SessionState> {
    const state = freshState(now, socket)
    try {
      this.#adopted = await adoptInto(this.#opts, state, this.#legacyCookies(socket), now)
    } catch (error) {
      // A reader that throws (its store is down) fails the load as a store failure does.
      return storeFailed(this.#opts, error, now, socket)
    }
    return state
  }

  // --- what the app does with the session (SessionHost) ------------------------------------

  assign(value: unknown): void {
    const state = this.#resolved
    if (value === this.#loaded && value !== undefined) return
    if (state === undefined) {
      throw new SessionError(
        SessionErrorCode.INVALID_STATE,
        'the session cannot be replaced before it is loaded',
      )
    }
    if (value !== null && value !== undefined) {
      throw new SessionError(
        SessionErrorCode.INVALID_STATE,
        'a session cannot be replaced: assign null to end it (as destroy() does), or change its keys',
      )
    }
    if (state.status === 'destroyed') return
    if (state.failure !== undefined) throw state.failure
    if (state.socket && !this.#opts.store) this.assertWritable(state, 'end the session')
    const { store, revocations } = this.#opts
    // Set before the change is announced, so an adapter arming its commit sees that it must wait.
    if (!state.isNew && state.status === 'active' && (store || revocations))
      this.#pendingEnd = { id: state.id, createdAt: state.createdAt }
    changing(state)
    host.ended(state)
  }

  expiresAt(state: SessionState): number {
    return expiryOf(state, this.#opts)
  }

  idOf(state: SessionState): string {
    return sessionIdOf(state)
  }

  setLifetime(
    state: SessionState,
    request: { idleTimeout?: unknown; absoluteTimeout?: unknown; browserSession?: unknown },
  ): void {
    host.setLifetime(this.#opts, state, request, this.#response)
  }

  assertWritable(state: SessionState, what: string): void {
    host.assertWritable(this.#opts, state, what, this.#response)
  }

  regenerate(state: SessionState, keep: boolean): Promise<void> {
    return host.regenerate(this.#opts, state, keep, this.#response)
  }

  destroy(state: SessionState): Promise<void> {
    return host.destroy(this.#opts, state, this.#response)
  }

  reload(state: SessionState): Promise<void> {
    return host.reload(this.#opts, state)
  }

  save(state: SessionState): Promise<void> {
    return host.save(this.#opts, state, this.#response)
  }

  // --- commit ----------------------------------------------------------------------------------

  commit(response: ResponseInfo = {}): Promise<CommitResult> {
    this.#commit ??=
      this.#committed === undefined ? this.#reported(this.#write(response)) : Promise.resolve(this.#committed)
    return this.#commit
  }

  commitSync(response: ResponseInfo = {}): CommitResult | undefined {
    if (this.#commit !== undefined || this.#committed !== undefined) return undefined
    let outcome: CommitResult | Promise<CommitResult>
    try {
      outcome = this.#writeSync(response)
    } catch (error) {
      this.#commit = this.#reported(Promise.reject(error))
      // The caller gets the error thrown; the promise kept for commit() must not count as unhandled.
      this.#commit.catch(() => {})
      throw error
    }
    if (outcome instanceof Promise) {
      this.#commit = this.#reported(outcome)
      return undefined
    }
    // A promise only if commit() is asked for it too.
    this.#committed = outcome
    return outcome
  }

  #reported(pending: Promise<CommitResult>): Promise<CommitResult> {
    return pending.catch((error: unknown) => {
      // Some frameworks have nowhere to report an error raised after the handler: say it here.
      this.#opts.emit({ type: 'commit-error', code: SessionError.is(error) ? error.code : 'ERR_UNKNOWN' })
      throw error
    })
  }

  async #write(response: ResponseInfo): Promise<CommitResult> {
    // Judged when the commit is asked for, before anything is awaited: an adapter that holds the
    // response's head for this commit (Express) reports it as sent from then on.
    const result = await this.#written(response, host.isSent(this.#response))
    const legacy = this.#legacy
    if (!legacy?.length) return result
    return retireLegacy(this.#opts, legacy, this.#adopted, this.#request, result, response)
  }

  async #written(response: ResponseInfo, sent: boolean): Promise<CommitResult> {
    const state = this.#resolved ?? (await this.#state)
    if (!state) return NO_HEADERS
    const ending = this.#pendingEnd
    if (ending !== undefined) {
      this.#pendingEnd = undefined
      await endSession(this.#opts, ending.id, ending.createdAt)
    }
    if (state.socket) {
      // Nothing can be sent to a socket's client: what changed is saved, as `save()` would.
      await this.save(state)
      return NO_HEADERS
    }
    if (sent) return this.#writeUnsent(state)
    const step = this.#prepare(state, response)
    return 'setCookie' in step ? step : this.#finish(state, step, response)
  }

  /** `commit()` in this tick where it can be: a result, or the promise of one when something waits. */
  #writeSync(response: ResponseInfo): CommitResult | Promise<CommitResult> {
    if (this.#legacy?.length) return this.#write(response)
    const state = this.#resolved
    if (!state) return this.#state === undefined ? NO_HEADERS : this.#write(response)
    if (state.socket || host.isSent(this.#response) || this.#pendingEnd !== undefined)
      return this.#write(response)
    const step = this.#prepare(state, response)
    if ('setCookie' in step) return step
    const { sealSync } = this.#sealer
    if (this.#opts.store || !sealSync) return this.#finish(state, step, response)
    return this.#send(step, sealSync(payloadOf(this.#opts, state, step.json), step.expiresAt), response)
  }

  /**
   * The late commit of a response that went out without the session: a server-store session the
   * request carried keeps what changed (the cookie it has still names it); anything else that
   * needed the response (a new or regenerated session, a cookie-store change, a logout's clearing)
   * is reported, as nothing can be thrown to anyone any more.
   */
  async #writeUnsent(state: SessionState): Promise<CommitResult> {
    const { store, emit, cookie } = this.#opts
    if (state.status === 'failed' || state.readOnly) return NO_HEADERS
    if (store && !state.isNew && state.status === 'active') {
      await this.save(state)
      return NO_HEADERS
    }
    if (unsentChange(state, store !== undefined)) emit({ type: 'unsent', cookie: cookie.name })
    return NO_HEADERS
  }

  /** Decides what the response must carry: the final result, or the step that needs sealing (and the store). */
  #prepare(state: SessionState, response: ResponseInfo): CommitResult | Step {
    const plan = planCommit(this.#opts, state, this.#readAt(), this.#sealer.currentKeyId)
    return plan === 'none' ? NO_HEADERS : plan === 'clear' ? this.#clear(response) : plan
  }

  async #finish(state: SessionState, step: Step, response: ResponseInfo): Promise<CommitResult> {
    const opts = this.#opts
    if (!(await storeCommit(opts, state, step))) return this.#clear(response)
    const claim = this.#claim
    const token =
      opts.store && claim && tokenReusable(claim, state, this.#sealer.currentKeyId, step.expiresAt)
        ? claim.token
        : await this.#sealer.seal(
            payloadOf(opts, state, step.json),
            sealExpiry(state, step.expiresAt, opts, opts.store !== undefined),
          )
    return this.#send(step, token, response)
  }

  #send(step: Step, token: string, response: ResponseInfo): CommitResult {
    return tokenHeaders(this.#opts, this.#prelude as Prelude, this.#request, token, step, response)
  }

  #clear(response: ResponseInfo): CommitResult {
    return clearingHeaders(this.#opts, this.#prelude as Prelude, this.#request, response)
  }
}
