import { findSession, getSession } from '@x/session-express/context'
import type { Request, RequestHandler } from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createSessionManager,
  type ExpressSessionOptions,
  memoryStore,
  type Session,
  type SessionData,
  SessionError,
  session,
} from '../src/index.js'

// The recipe users follow. The augmentation is program-wide, so it also declares the keys the runtime tests use.
declare module '@x/session-express' {
  interface SessionData {
    userId: number
    cart: { items: string[] }
    n: number
    user: string
    blob: string
    visits: number
    role: string
    theme: string
  }
}

describe('req.session typing', () => {
  it('is the package SessionData, augmented by declaration merging', () => {
    expectTypeOf<Request['session']>().toEqualTypeOf<Session<SessionData>>()
    expectTypeOf<Request['session']['userId']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<Request['session']['cart']>().toEqualTypeOf<{ items: string[] } | undefined>()
  })

  it('types get/set and keeps the API out of reach of data', () => {
    const req = {} as Request
    expectTypeOf(req.session.get('userId')).toEqualTypeOf<number | undefined>()
    req.session.set('userId', 1)
    req.session.userId = 2
    // @ts-expect-error a string is not a userId
    req.session.set('userId', 'x')
    // @ts-expect-error a key SessionData does not declare
    req.session.set('nope', 1)
    // @ts-expect-error a property SessionData does not declare
    req.session.nope
    expectTypeOf(req.session.regenerate).toBeFunction()
    expectTypeOf(req.session.id).toEqualTypeOf<string>()
  })

  it('callback forms exist for Passport', () => {
    const req = {} as Request
    expectTypeOf(req.session.save((err?: unknown) => void err)).toEqualTypeOf<void>()
    expectTypeOf(req.session.regenerate((err?: unknown) => void err)).toEqualTypeOf<void>()
    expectTypeOf(req.session.destroy()).toEqualTypeOf<Promise<void>>()
  })
})

describe('session()', () => {
  it('takes the core options plus property and returns Express middleware', () => {
    expectTypeOf(session).parameter(0).toEqualTypeOf<ExpressSessionOptions | undefined>()
    expectTypeOf(
      session({ secret: 's'.repeat(32), property: 'admin', store: memoryStore() }),
    ).toExtend<RequestHandler>()
    expectTypeOf(session({ manager: createSessionManager<SessionData>({}) })).toExtend<RequestHandler>()
    expectTypeOf(session().upgrade).returns.resolves.toEqualTypeOf<Session<SessionData>>()
    // @ts-expect-error a secret is a string or a key map
    session({ secret: 42 })
  })

  it('re-exports the core API', () => {
    expectTypeOf(SessionError.is).toBeFunction()
  })
})

describe('@x/session-express/context', () => {
  it("getSession() and findSession() are typed by the package's augmented SessionData", () => {
    expectTypeOf(getSession()).toEqualTypeOf<Session<SessionData>>()
    expectTypeOf(getSession()).toEqualTypeOf<Request['session']>()
    expectTypeOf(getSession().userId).toEqualTypeOf<number | undefined>()
    expectTypeOf(findSession()).toEqualTypeOf<Session<SessionData> | undefined>()
    // @ts-expect-error a string is not a userId
    getSession().userId = 'x'
  })

  it('a second session is typed by its own data, found by its cookie name', () => {
    expectTypeOf(getSession<{ role: string }>('admin')).toEqualTypeOf<Session<{ role: string }>>()
    expectTypeOf(findSession<{ role: string }>('admin')?.role).toEqualTypeOf<string | undefined>()
    // @ts-expect-error the cookie name is a string
    getSession(1)
  })
})
