import type { SessionStore, StoredSession, StoreSetOptions } from '@x/session-core'

/** Wraps a store to count its calls and to make it fail on demand. */
export interface InstrumentedStore extends SessionStore {
  readonly calls: { get: number; set: number; delete: number; touch: number; apply: number }
  /** While true, every call rejects as a down store would. */
  failing: boolean
  /**
   * While true, each `set()` waits a few milliseconds before it writes: a response sent before
   * the write finished arrives first, and finds the record still missing (E8).
   */
  slowWrites: boolean
  readonly inner: SessionStore
}

export function instrument(inner: SessionStore): InstrumentedStore {
  const calls = { get: 0, set: 0, delete: 0, touch: 0, apply: 0 }
  const store: InstrumentedStore = {
    calls,
    failing: false,
    slowWrites: false,
    inner,
    async get(id: string) {
      calls.get++
      if (store.failing) throw new Error('store down (conformance)')
      return inner.get(id)
    },
    async set(id: string, session: StoredSession, opts: StoreSetOptions) {
      calls.set++
      if (store.failing) throw new Error('store down (conformance)')
      if (store.slowWrites) await new Promise((resolve) => setTimeout(resolve, 30))
      return inner.set(id, session, opts)
    },
    async delete(id: string) {
      calls.delete++
      if (store.failing) throw new Error('store down (conformance)')
      return inner.delete(id)
    },
  }
  if (inner.touch) {
    store.touch = async (id, ttl, refreshedAt) => {
      calls.touch++
      if (store.failing) throw new Error('store down (conformance)')
      return inner.touch?.(id, ttl, refreshedAt)
    }
  }
  const { apply } = inner
  if (apply) {
    store.apply = async (id, change, opts) => {
      calls.apply++
      if (store.failing) throw new Error('store down (conformance)')
      return apply.call(inner, id, change, opts)
    }
  }
  const { listByUser, deleteByUser } = inner
  if (listByUser) {
    store.listByUser = async (user) => {
      if (store.failing) throw new Error('store down (conformance)')
      return listByUser.call(inner, user)
    }
  }
  if (deleteByUser) {
    store.deleteByUser = async (user) => {
      if (store.failing) throw new Error('store down (conformance)')
      return deleteByUser.call(inner, user)
    }
  }
  return store
}
