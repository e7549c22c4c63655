import { describe, expect, it } from 'vitest'
import { planCommit, unsentChange } from '../src/internal/commit-plan.js'
import { freshState, State } from '../src/internal/request-state.js'
import { resolveOptions } from '../src/options.js'
import { markDirty, type SessionState } from '../src/session.js'

const S = 1000
const HOUR = 3600 * S
const DAY = 24 * HOUR
const T0 = Date.UTC(2030, 0, 1)
const SECRET = 'commit-plan-test-secret-0123456789abcdef'

/** idle 1 day, absolute 7 days, rolling refresh after 6 hours; the clock reads T0. */
const opts = resolveOptions({
  secret: SECRET,
  idleTimeout: 86_400,
  absoluteTimeout: 7 * 86_400,
  rolling: 6 * 3600,
  clock: () => T0,
})

/** A loaded session, created an hour ago, last refreshed `refreshedAgo` ago, sealed under `keyId`. */
function loaded(refreshedAgo = HOUR, keyId = 'b'): SessionState {
  return new State(
    'sid',
    false,
    T0 - HOUR,
    T0 - refreshedAgo,
    { n: 1 },
    '{"n":1}',
    1,
    undefined,
    keyId,
    false,
  )
}

function written(state: SessionState, key: string, value: unknown): SessionState {
  markDirty(state)
  state.data[key] = value
  return state
}

describe('planCommit: what the commit of a loaded session does', () => {
  it.each<[string, () => SessionState, 'none' | 'clear' | 'seal']>([
    ['a new session nobody wrote to sends nothing (E1)', () => freshState(T0, false), 'none'],
    ['a new session written to is sealed', () => written(freshState(T0, false), 'a', 1), 'seal'],
    [
      'a new session whose write was undone sends nothing (E2)',
      () => written(freshState(T0, false), 'a', undefined),
      'none',
    ],
    ['an unchanged session sends nothing', () => loaded(), 'none'],
    ['the same value written again sends nothing (E11)', () => written(loaded(), 'n', 1), 'none'],
    ['a changed session is sealed', () => written(loaded(), 'n', 2), 'seal'],
    ['a due rolling refresh is sealed', () => loaded(7 * HOUR), 'seal'],
    ['an older key is re-sealed', () => loaded(HOUR, 'a'), 'seal'],
    [
      'a destroyed session is cleared',
      () => Object.assign(loaded(), { status: 'destroyed' as const }),
      'clear',
    ],
    ['a failed load sends nothing', () => Object.assign(loaded(), { status: 'failed' as const }), 'none'],
    [
      'a read-only session (anonymous policy) sends nothing',
      () => Object.assign(written(loaded(), 'n', 2), { readOnly: true }),
      'none',
    ],
    [
      'a session whose absolute limit passed is cleared, not re-sent',
      () => Object.assign(written(loaded(), 'n', 2), { createdAt: T0 - 7 * DAY }),
      'clear',
    ],
  ])('%s', (_name, make, expected) => {
    const plan = planCommit(opts, make(), T0, 'b')
    expect(typeof plan === 'string' ? plan : 'seal').toBe(expected)
  })

  it('a write slides the idle window to now; the step carries the data, the expiry and the reason', () => {
    const state = written(loaded(2 * HOUR), 'n', 2)
    const plan = planCommit(opts, state, T0, 'b')
    expect(plan).toEqual({ json: '{"n":2}', now: T0, expiresAt: T0 + DAY, reason: 'changed', browser: false })
    expect(state.refreshedAt).toBe(T0)
  })

  it('a re-seal under a newer key alone does not slide the idle window (K3)', () => {
    const state = loaded(2 * HOUR, 'a')
    const plan = planCommit(opts, state, T0, 'b')
    expect(plan).toMatchObject({ reason: 'rotate', expiresAt: T0 - 2 * HOUR + DAY })
    expect(state.refreshedAt).toBe(T0 - 2 * HOUR)
  })

  it('a browser-session lifetime makes a step without Max-Age', () => {
    const state = Object.assign(written(loaded(), 'n', 2), { lifetime: { b: 1 as const } })
    expect(planCommit(opts, state, T0, 'b')).toMatchObject({ browser: true })
  })
})

describe('unsentChange: what a response that went out without the session lost', () => {
  it.each<[string, () => SessionState, boolean, boolean]>([
    ['nothing changed', () => loaded(), false, false],
    ['a change to the data', () => written(loaded(), 'n', 2), false, true],
    ['the same value written again', () => written(loaded(), 'n', 1), false, false],
    ['a regenerated session', () => Object.assign(loaded(), { forceEmit: true }), false, true],
    ['a user bound', () => Object.assign(loaded(), { pendingWrite: true }), true, true],
    [
      'a cookie-store logout (its clearing)',
      () => Object.assign(loaded(), { status: 'destroyed' as const }),
      false,
      true,
    ],
    [
      'a server-store logout is done in the store',
      () => Object.assign(loaded(), { status: 'destroyed' as const }),
      true,
      false,
    ],
  ])('%s', (_name, make, serverStore, expected) => {
    expect(unsentChange(make(), serverStore)).toBe(expected)
  })
})
