import { isSessionId } from './ids.js'
import { isLifetime, type Lifetime } from './lifetime.js'

/**
 * The version of the sealed payload's shape that new seals carry. Version 1 (the first releases'
 * shape) is still read; a seal of any other version is no session (CONFORMANCE T6).
 */
export const PAYLOAD_VERSION = 2

/**
 * The cookie name a version-2 payload carries no `n` for: the default name costs no bytes. The
 * binding holds all the same: a seal for `session` (no `n`) read under another name lacks that
 * name, and a seal for another name carries it, which is not `session`.
 */
const kImpliedName = 'session'

type Data = Record<string, unknown>

/**
 * What a session's seal says, in the engine's units (epoch ms), whichever version sealed it. `d`
 * only with the cookie store.
 */
export interface Payload {
  /** The version the seal carried (1 or {@link PAYLOAD_VERSION}). */
  v: 1 | typeof PAYLOAD_VERSION
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

/** What {@link payloadJson} seals. Times in epoch ms, as the engine keeps them. */
export interface PayloadFields {
  id: string
  cookieName: string
  createdAt: number
  refreshedAt: number
  /** The data's JSON, already serialized by the caller (cookie store); omitted for a server store. */
  dataJson?: string | undefined
  user?: string | undefined
  lifetime?: Lifetime | undefined
}

export function isPlainObject(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The JSON a seal carries (version 2), built around `dataJson` so that data the caller has just
 * serialized is not serialized again:
 *
 *   {"v":2,"i":<id>,"c":<createdAt, epoch ms>,"r":<seconds from c to the last refresh, rounded up>,
 *    "d":<data>?,"n":<cookie name, absent for "session">?,"u":<user>?,"l":<lifetime>?}
 *
 * Version 1 spelled out `id`, always carried the name, and gave `r` in epoch ms: 100 bytes for a
 * session of one number against 74, two AES blocks more (with 64-bit salts, sealer.ts, its cookie
 * went from 377 bytes to 238).
 * `c` keeps its milliseconds: a revocation ends every session created before an instant (K6), and
 * a session created just after it, in the same second, must survive. `r` only decides the idle
 * window and the rolling refresh, and rounding it up never ends a session early nor refreshes it
 * early; the seal's own expiry, exact to the millisecond, still ends the cookie store's session on
 * time.
 */
export function payloadJson(fields: PayloadFields): string {
  const { createdAt } = fields
  const since = Math.ceil((fields.refreshedAt - createdAt) / 1000)
  let json = `{"v":${PAYLOAD_VERSION},"i":${JSON.stringify(fields.id)},"c":${createdAt},"r":${since}`
  if (fields.dataJson !== undefined) json += `,"d":${fields.dataJson}`
  if (fields.cookieName !== kImpliedName) json += `,"n":${JSON.stringify(fields.cookieName)}`
  if (fields.user !== undefined) json += `,"u":${JSON.stringify(fields.user)}`
  if (fields.lifetime !== undefined) json += `,"l":${JSON.stringify(fields.lifetime)}`
  return `${json}}`
}

/**
 * The payload of a verified seal, when it has this library's shape (either version) for
 * `cookieName`: with data (`withData`, the cookie store) or without (a server store's token names
 * the session only).
 */
export function readPayload(value: unknown, cookieName: string, withData: boolean): Payload | undefined {
  if (!isPlainObject(value)) return undefined
  if (value.v === PAYLOAD_VERSION) return readCurrent(value, cookieName, withData)
  if (value.v === 1) return readVersion1(value, cookieName, withData)
  return undefined
}

function readCurrent(value: Data, cookieName: string, withData: boolean): Payload | undefined {
  const { i: id, c, r, n = kImpliedName } = value
  if (!isSessionId(id) || n !== cookieName) return undefined
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(r) || (r as number) < 0) return undefined
  const refreshedAt = (c as number) + (r as number) * 1000
  if (!Number.isSafeInteger(refreshedAt)) return undefined
  if (!readExtras(value, withData)) return undefined
  return shaped(PAYLOAD_VERSION, id, cookieName, c as number, refreshedAt, value)
}

/** Version 1: `{ v: 1, id, n, c, r, d?, u?, l? }`, times in epoch ms. */
function readVersion1(value: Data, cookieName: string, withData: boolean): Payload | undefined {
  const { id, n, c, r } = value
  if (!isSessionId(id) || n !== cookieName) return undefined
  if (!Number.isSafeInteger(c) || !Number.isSafeInteger(r) || (r as number) < (c as number)) return undefined
  if (!readExtras(value, withData)) return undefined
  return shaped(1, id, cookieName, c as number, r as number, value)
}

/** The fields both versions spell alike: `d` (present exactly with the cookie store), `u`, `l`. */
function readExtras(value: Data, withData: boolean): boolean {
  const { d, u, l } = value
  if (withData ? !isPlainObject(d) : d !== undefined) return false
  if (u !== undefined && typeof u !== 'string') return false
  return l === undefined || isLifetime(l)
}

function shaped(v: Payload['v'], id: string, n: string, c: number, r: number, value: Data): Payload {
  const payload: Payload = { v, id, n, c, r }
  // The data object itself, not a copy: a cached unseal's frozen data is recognized by identity.
  if (value.d !== undefined) payload.d = value.d as Data
  if (value.u !== undefined) payload.u = value.u as string
  if (value.l !== undefined) payload.l = value.l as Lifetime
  return payload
}
