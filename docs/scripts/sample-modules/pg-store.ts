// The made-up store the "Writing a store" samples test.
import type { SessionStore } from '@x/session-core'

export interface Pool {
  end(): Promise<void>
}
export declare function pgStore(options: { pool: Pool; table: string }): SessionStore
