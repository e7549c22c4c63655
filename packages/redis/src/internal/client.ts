import { SessionError, SessionErrorCode } from '@x/session-core'
import type { Script } from './scripts.js'

/** What node-redis (v4, v5) clients and clusters have in common: scripts with `{ keys, arguments }`. */
export interface NodeRedisLike {
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
}

/** What ioredis `Redis` and `Cluster` have in common: scripts with positional arguments. */
export interface IoRedisLike {
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): unknown
}

/** A node-redis client or cluster (`createClient`, `createCluster`), or an ioredis `Redis` or `Cluster`. */
export type RedisClientLike = NodeRedisLike | IoRedisLike

/** The one thing the store needs from a client: run a script on one key. */
export interface ScriptRunner {
  run(script: Script, key: string, args: readonly string[]): Promise<unknown>
}

type Call = (sha1OrSource: string, key: string, args: readonly string[]) => Promise<unknown>

/**
 * Runs scripts by EVALSHA, so a request sends a 40-byte digest rather than the script, and falls
 * back to EVAL when the node answers NOSCRIPT (first use, restart, failover, SCRIPT FLUSH); EVAL
 * also loads the script, so the next EVALSHA on that node succeeds. On a Cluster both calls are
 * routed by the key, so the fallback lands on the node that lacked the script.
 */
export function scriptRunner(client: unknown): ScriptRunner {
  const [evalsha, evaluate] = bind(client)
  return {
    run(script, key, args) {
      // No async wrapper and no copy of the arguments: this runs twice per request, and neither
      // client keeps or changes the array it is given.
      return evalsha(script.sha1, key, args).catch((error: unknown) => {
        if (!isNoScript(error)) throw error
        return evaluate(script.source, key, args)
      })
    },
  }
}

function bind(client: unknown): [Call, Call] {
  const c = client as Partial<IoRedisLike & NodeRedisLike> | null | undefined
  if (
    c &&
    typeof c.defineCommand === 'function' &&
    typeof c.evalsha === 'function' &&
    typeof c.eval === 'function'
  ) {
    const io = c as IoRedisLike
    return [
      (sha1, key, args) => io.evalsha(sha1, 1, key, ...args),
      (source, key, args) => io.eval(source, 1, key, ...args),
    ]
  }
  if (c && typeof c.evalSha === 'function' && typeof c.eval === 'function') {
    const node = c as NodeRedisLike
    return [
      (sha1, key, args) => node.evalSha(sha1, { keys: [key], arguments: args as string[] }),
      (source, key, args) => node.eval(source, { keys: [key], arguments: args as string[] }),
    ]
  }
  throw new SessionError(
    SessionErrorCode.INVALID_OPTION,
    '@x/session-redis: `client` must be a node-redis client or cluster (createClient/createCluster from "redis"; with v4 legacyMode pass client.v4) or an ioredis Redis or Cluster',
  )
}

/**
 * Redis starts every error reply with its code; NOSCRIPT is part of the protocol, not a client
 * library's wording (node-redis and ioredis make the same test internally).
 */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}
