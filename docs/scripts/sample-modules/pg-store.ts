// The made-up store the "Writing a store" samples test.
import type { RevocationStore, SessionStore } from '@x/session-core'

export interface Pool {
  end(): Promise<void>
}
export declare function pgStore(options: { pool: Pool; table: string }): SessionStore
export declare function pgRevocations(options: {
  pool: Pool
  table: string
  clock?: () => number
}): RevocationStore
