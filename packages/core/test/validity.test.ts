import { describe, expect, it } from 'vitest'
import { type Lifetime, requestedLifetime } from '../src/internal/lifetime.js'
import {
  cookieExpires,
  cookieMaxAge,
  expiredReason,
  expiresAt,
  isRevoked,
  MAX_COOKIE_AGE,
  type Resend,
  refreshDue,
  resendReason,
  revocationTtl,
  revokedFrom,
  rotationDue,
  sealExpiry,
  slides,
  storeTtl,
  tokenReusable,
} from '../src/internal/validity.js'

const S = 1000
const MIN = 60 * S
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const T0 = Date.UTC(2030, 0, 1)

/** idle 1 day, absolute 7 days, rolling refresh after 6 hours. */
const opts = { idleMs: DAY, absoluteMs: 7 * DAY, rollingMs: 6 * HOUR }

function times(createdAgo: number, refreshedAgo: number, lifetime?: Lifetime, now = T0) {
  return { createdAt: now - createdAgo, refreshedAt: now - refreshedAgo, lifetime }
}

describe('expiredReason: is the session over at now', () => {
  it.each([
    ['fresh', times(0, 0), undefined],
    ['idle just under the limit', times(HOUR, DAY - 1), undefined],
    ['idle exactly at the limit', times(HOUR, DAY), 'idle'],
    ['absolute just under the limit, recently active', times(7 * DAY - 1, 0), undefined],
    ['absolute exactly at the limit, recently active', times(7 * DAY, 0), 'absolute'],
    ['both over: absolute wins', times(8 * DAY, 2 * DAY), 'absolute'],
    ['own longer idle ("remember me") keeps it', times(2 * DAY, 2 * DAY, { i: 3 * 86_400 }), undefined],
    ['own shorter idle ends it', times(HOUR, HOUR, { i: 600 }), 'idle'],
    ['own shorter absolute ends it', times(2 * DAY, 0, { a: 86_400 }), 'absolute'],
    [
      'own absolute above the configured one cannot lift it (X8)',
      times(7 * DAY, 0, { a: 30 * 86_400 }),
      'absolute',
    ],
    ['a browser-session cookie keeps the configured limits', times(HOUR, DAY, { b: 1 }), 'idle'],
  ] as const)('%s', (_name, t, expected) => {
    expect(expiredReason(t.createdAt, t.refreshedAt, t.lifetime, T0, opts)).toBe(expected)
  })
})

describe('expiresAt: the earlier of the idle and the absolute limit', () => {
  it.each([
    ['idle comes first', times(0, 0), T0 + DAY],
    ['absolute comes first', times(7 * DAY - HOUR, 0), T0 + HOUR],
    ['refreshed a while ago', times(HOUR, 2 * HOUR), T0 + DAY - 2 * HOUR],
    ['own idle', times(0, 0, { i: 600 }), T0 + 600 * S],
    [
      'own absolute, capped by the configured one',
      times(0, 0, { i: 30 * 86_400, a: 30 * 86_400 }),
      T0 + 7 * DAY,
    ],
  ] as const)('%s', (_name, t, expected) => {
    expect(expiresAt(t, opts)).toBe(expected)
  })
})

describe('refreshDue: is a rolling refresh due at the time the request was read', () => {
  it.each([
    ['just refreshed', times(HOUR, 0), opts, false],
    ['just under the rolling interval', times(HOUR, 6 * HOUR - 1), opts, false],
    ['exactly at the rolling interval', times(HOUR, 6 * HOUR), opts, true],
    [
      'rolling off (Infinity)',
      times(HOUR, 20 * HOUR),
      { ...opts, rollingMs: Number.POSITIVE_INFINITY },
      false,
    ],
    // An own idle of 10 minutes: at least four refreshes per window, so every 2.5 minutes.
    ['own short idle: a quarter of it', times(HOUR, 150 * S, { i: 600 }), opts, true],
    ['own short idle: just under a quarter', times(HOUR, 150 * S - 1, { i: 600 }), opts, false],
    [
      'own long idle keeps the configured interval',
      times(HOUR, 6 * HOUR - 1, { i: 30 * 86_400 }),
      opts,
      false,
    ],
  ] as const)('%s', (_name, t, options, expected) => {
    expect(refreshDue(t, T0, options)).toBe(expected)
  })
})

describe('rotationDue: is a re-seal under the newest key due (K3)', () => {
  it.each([
    ['sealed under the newest key', 'b', 'b', false],
    ['sealed under an older key', 'a', 'b', true],
    ['a plain string secret', '', '', false],
    ['no key id known (a new session)', undefined, 'b', false],
  ] as const)('%s', (_name, keyId, current, expected) => {
    expect(rotationDue({ keyId }, current)).toBe(expected)
  })
})

describe('resendReason: why the commit sends the token again', () => {
  const base = { ...times(HOUR, HOUR), isNew: false, forceEmit: false, forceRefresh: false, keyId: 'b' }
  it.each<[string, Partial<typeof base>, boolean, Resend]>([
    ['unchanged, nothing due', {}, false, 'none'],
    ['changed', {}, true, 'changed'],
    ['changed wins over a due refresh', times(HOUR, 7 * HOUR), true, 'changed'],
    ['a rolling refresh due', times(HOUR, 7 * HOUR), false, 'refresh'],
    ['touch() asked for a refresh', { forceRefresh: true }, false, 'refresh'],
    ['forced (regenerate, save, setLifetime)', { forceEmit: true }, false, 'forced'],
    [
      'forced and a refresh due: a refresh (the store is touched)',
      { forceEmit: true, forceRefresh: true },
      false,
      'refresh',
    ],
    ['an older key alone', { keyId: 'a' }, false, 'rotate'],
    ['an older key and a change', { keyId: 'a' }, true, 'changed'],
    ['new, untouched', { isNew: true, keyId: undefined }, false, 'none'],
    ['new with a refresh asked: nothing to refresh', { isNew: true, forceRefresh: true }, false, 'none'],
    ['new, written', { isNew: true }, true, 'changed'],
    ['new, regenerated', { isNew: true, forceEmit: true }, false, 'forced'],
  ])('%s', (_name, overrides, changed, expected) => {
    expect(resendReason({ ...base, ...overrides }, changed, T0, opts, 'b')).toBe(expected)
  })

  it.each<[Resend, boolean]>([
    ['none', false],
    ['changed', true],
    ['refresh', true],
    ['forced', true],
    ['rotate', false],
  ])('slides(%s): %s (a re-seal alone never extends a session)', (reason, expected) => {
    expect(slides(reason)).toBe(expected)
  })
})

describe('cookie Max-Age and Expires', () => {
  it.each([
    ['whole seconds, rounded down', T0, T0 + DAY - 1, false, 86_399],
    ['exactly a day', T0, T0 + DAY, false, 86_400],
    ['never above the browsers’ 400-day cap', T0, T0 + 500 * DAY, false, MAX_COOKIE_AGE],
    ['a browser-session cookie has none', T0, T0 + DAY, true, undefined],
  ] as const)('cookieMaxAge: %s', (_name, now, until, browser, expected) => {
    expect(cookieMaxAge(now, until, browser)).toBe(expected)
  })

  it.each([
    ['the same instant as Max-Age from now', 86_399, T0 + 86_399 * S],
    ['none without Max-Age', undefined, undefined],
  ] as const)('cookieExpires: %s', (_name, maxAge, expected) => {
    expect(cookieExpires(T0, maxAge)).toBe(expected)
  })
})

describe('sealExpiry: how long the token itself lasts', () => {
  it.each([
    ['cookie store: the session’s own expiry', times(HOUR, 0), false, T0 + DAY],
    ['server store: the whole absolute lifetime', times(HOUR, 0), true, T0 - HOUR + 7 * DAY],
    ['server store, own shorter absolute', times(HOUR, 0, { a: 86_400 }), true, T0 - HOUR + DAY],
  ] as const)('%s', (_name, t, serverStore, expected) => {
    expect(sealExpiry(t, T0 + DAY, opts, serverStore)).toBe(expected)
  })
})

describe('tokenReusable: a server-store response sends the request’s own token again', () => {
  const claim = { id: 'sid', user: 'u1', keyId: 'b', lifetime: undefined, tokenExpiresAt: T0 + 7 * DAY }
  const state = { id: 'sid', isNew: false, user: 'u1', lifetime: undefined }
  it.each<[string, Partial<typeof claim>, Partial<typeof state>, string, boolean]>([
    ['same session, newest key, lasts long enough', {}, {}, 'b', true],
    ['token lasts exactly as long as needed', { tokenExpiresAt: T0 + DAY }, {}, 'b', true],
    ['token ends too early', { tokenExpiresAt: T0 + DAY - 1 }, {}, 'b', false],
    ['sealed under an older key: re-seal', { keyId: 'a' }, {}, 'b', false],
    ['regenerated (new id)', {}, { id: 'other', isNew: true }, 'b', false],
    ['new session', {}, { isNew: true }, 'b', false],
    ['bound to another user since', {}, { user: 'u2' }, 'b', false],
    ['bound to a user since', { user: undefined }, {}, 'b', false],
    ['a new lifetime', {}, { lifetime: { i: 600 } as never }, 'b', false],
  ])('%s', (_name, claimOverrides, stateOverrides, current, expected) => {
    expect(
      tokenReusable({ ...claim, ...claimOverrides }, { ...state, ...stateOverrides }, current, T0 + DAY),
    ).toBe(expected)
  })
})

describe('store and revocation times', () => {
  it.each([
    ['whole seconds, rounded up', T0 + 1500, 2],
    ['exactly a day', T0 + DAY, 86_400],
    ['at least one second', T0, 1],
    ['at least one second, even past', T0 - 5 * S, 1],
  ] as const)('storeTtl: %s', (_name, until, expected) => {
    expect(storeTtl(until, T0)).toBe(expected)
  })

  it.each([
    ['until the token would have ended (configured absolute)', T0 - DAY, 6 * 86_400],
    ['rounded up', T0 - DAY + 500, 6 * 86_400 + 1],
    ['at least one second', T0 - 8 * DAY, 1],
  ] as const)('revocationTtl: %s', (_name, createdAt, expected) => {
    expect(revocationTtl(createdAt, T0, opts)).toBe(expected)
  })

  it.each([
    ['now, for a session created before', T0 - HOUR, T0],
    ['later than the creation in the same millisecond', T0, T0 + 1],
  ] as const)('revokedFrom: %s', (_name, createdAt, expected) => {
    const from = revokedFrom(createdAt, T0)
    expect(from).toBe(expected)
    expect(isRevoked(createdAt, [from])).toBe(true)
  })

  it.each<[string, number, Array<number | undefined>, boolean]>([
    ['nothing kept', T0, [undefined, undefined], false],
    ['revoked after creation', T0, [T0 + 1], true],
    ['revoked at the creation instant: created later is live', T0, [T0], false],
    ['revoked before creation (a later login)', T0, [T0 - 1], false],
    ['the user revoked, the session not', T0, [undefined, T0 + 5], true],
    ['empty answer', T0, [], false],
  ])('isRevoked: %s', (_name, createdAt, notBefore, expected) => {
    expect(isRevoked(createdAt, notBefore)).toBe(expected)
  })
})

describe('requestedLifetime: the bounds of setLifetime()', () => {
  it.each<[string, Parameters<typeof requestedLifetime>[0], Lifetime | undefined | 'refused']>([
    ['nothing asked: the configured timeouts', {}, undefined],
    ['no argument at all', undefined, undefined],
    ['browserSession: false alone asks nothing', { browserSession: false }, undefined],
    ['whole seconds, rounded down', { idleTimeout: 600.9 }, { i: 600 }],
    [
      'capped by the configured absolute timeout',
      { idleTimeout: 30 * 86_400, absoluteTimeout: 90 * 86_400 },
      { i: 7 * 86_400, a: 7 * 86_400 },
    ],
    ['a browser-session cookie', { browserSession: true }, { b: 1 }],
    ['under a second is refused', { idleTimeout: 0.5 }, 'refused'],
    ['not a number is refused', { absoluteTimeout: '3600' }, 'refused'],
    ['Infinity is refused', { idleTimeout: Number.POSITIVE_INFINITY }, 'refused'],
    ['a non-boolean browserSession is refused', { browserSession: 1 }, 'refused'],
  ])('%s', (_name, request, expected) => {
    const lifetime = requestedLifetime(request, opts.absoluteMs)
    if (expected === 'refused') expect(typeof lifetime).toBe('string')
    else expect(lifetime).toEqual(expected)
  })
})
