import type { SessionCycle } from '../manager.js'

/**
 * Where `@x/session-core/context` registers itself: a global symbol, not a module variable, so one
 * registration serves every copy of core in the process (its ESM and CommonJS builds, or two
 * installed versions), and the main entry needs no `node:` import to find it.
 */
export const kContextRunner = Symbol.for('@x/session-core.context')

export interface ContextRunner {
  run<T>(cycle: SessionCycle<object>, fn: () => T): T
}
