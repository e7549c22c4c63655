import { isSessionId } from './ids.js'
import { isLifetime, type Lifetime } from './lifetime.js'

/** The version of the sealed payload's shape; a seal of any other version is no session. */
export const PAYLOAD_VERSION = 1

type Data = Record<string, unknown>

/** What the cookie seal carries: everything that decides validity. `d` only with the cookie store. */
export interface Payload {
  v: typeof PAYLOAD_VERSION
  id: string
  /** Cookie name: a seal made for another cookie is not accepted under this one. */
  n: string
  c: number
  r: number
  d?: Data
  /** Bound user: checked against revocations (cookie store). */
  u?: string
  /** This session's own lifetime, when `setLifetime()` chose one. */
  l?: Lifetime
}

export function isPlainObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The payload of a verified seal, when it has this library's shape for `cookieName`: with data
 * (`withData`, the cookie store) or without (a server store's token names the session only).
 */
export function readPayload(value: unknown, cookieName: string, withData: boolean): Payload | undefined {
  if (!isPlainObject(value)) return undefined
  const { v, id, n, c, r, d } = value
  if (v !== PAYLOAD_VERSION || !isSessionId(id) || n !== cookieName) return undefined
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(r) || (r as number) < (c as number)) return undefined
  if (withData ? !isPlainObject(d) : d !== undefined) return undefined
  if (value.u !== undefined && typeof value.u !== 'string') return undefined
  if (value.l !== undefined && !isLifetime(value.l)) return undefined
  return value as unknown as Payload
}
