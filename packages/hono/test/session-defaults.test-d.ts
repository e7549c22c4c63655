import type { Session as CoreSession, SessionManager as CoreSessionManager } from '@x/session-core'
import {
  createSessionManager,
  type Session,
  type SessionApi,
  type SessionData,
  type SessionManager,
  session,
} from '@x/session-hono'
import { Hono } from 'hono'
import { describe, expectTypeOf, it } from 'vitest'

// The package's SessionData is augmented in types.test-d.ts (augmentations are program-wide): it has
// `cart: { items: string[] }`. Core's own SessionData stays empty.

describe("the re-exported generics default to this package's SessionData", () => {
  it('Session with no type argument has the augmented keys', () => {
    expectTypeOf<Session>().toEqualTypeOf<Session<SessionData>>()
    expectTypeOf<Session>().not.toEqualTypeOf<CoreSession>()
    const current = {} as Session
    expectTypeOf(current.cart).toEqualTypeOf<{ items: string[] } | undefined>()
    expectTypeOf(current.get('cart')).toEqualTypeOf<{ items: string[] } | undefined>()
    expectTypeOf<SessionApi>().toEqualTypeOf<SessionApi<SessionData>>()
    // @ts-expect-error not a key of SessionData
    current.get('nope')
  })

  it('createSessionManager() with no type argument manages SessionData and fits { manager }', () => {
    const manager = createSessionManager({ secret: 'x'.repeat(32) })
    expectTypeOf(manager).toEqualTypeOf<SessionManager<SessionData>>()
    expectTypeOf(manager).not.toEqualTypeOf<CoreSessionManager>()
    new Hono().use(session({ manager }))
  })

  it('a type argument still wins', () => {
    interface Admin {
      role: string
    }
    expectTypeOf<Session<Admin>['role']>().toEqualTypeOf<string | undefined>()
    expectTypeOf(createSessionManager<Admin>({ secret: 'x'.repeat(32) })).toEqualTypeOf<
      SessionManager<Admin>
    >()
  })
})
