import { parse, serialize } from 'cookie'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { SessionError, SessionErrorCode } from '../src/errors.js'
import {
  type CookieOptions,
  clearSessionCookie,
  readSessionCookie,
  serializeSessionCookie,
  validateCookieOptions,
} from '../src/internal/cookie.js'

const base: CookieOptions = {
  name: 'sid',
  path: '/',
  sameSite: 'lax',
  secure: 'auto',
  httpOnly: true,
  partitioned: false,
}
const secureBase: CookieOptions = { ...base, secure: true }
const FUTURE = new Date(Date.UTC(2030, 0, 2, 3, 4, 5))
const EPOCH_HTTP = 'Thu, 01 Jan 1970 00:00:00 GMT'
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_*'

/** The code of the SessionError `fn` throws, or a marker that it threw something else or nothing. */
function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return SessionError.is(err) ? err.code : `not a SessionError: ${String(err)}`
  }
  return 'no error'
}

function sealLike(length: number, seed = 0): string {
  let s = ''
  for (let i = 0; i < length; i++) s += B64URL[(i * 7 + seed) % B64URL.length]
  return s
}

/** `name=value` of each Set-Cookie, as a browser would send them back. */
function pairs(setCookies: readonly string[]): Array<[string, string]> {
  return setCookies.map((s) => {
    const end = s.indexOf(';')
    const pair = end === -1 ? s : s.slice(0, end)
    const eq = pair.indexOf('=')
    return [pair.slice(0, eq), pair.slice(eq + 1)]
  })
}

/** The `Cookie` header a browser sends after applying `setCookies` to an empty jar. */
function cookieHeader(setCookies: readonly string[]): string {
  return pairs(setCookies.filter((s) => !s.includes('; Max-Age=0;')))
    .map(([n, v]) => `${n}=${v}`)
    .join('; ')
}

const INVALID = SessionErrorCode.INVALID_COOKIE
const TOO_LARGE = SessionErrorCode.TOO_LARGE

describe('validateCookieOptions', () => {
  const badChars: Array<[string, string]> = [
    ['NUL', '\x00'],
    ['a control character', '\x1f'],
    ['DEL', '\x7f'],
    ['a tab', '\t'],
    ['a newline', '\n'],
    ['a space', ' '],
    ['a semicolon', ';'],
    ['a comma', ','],
    ['a double quote', '"'],
    ['a backslash', '\\'],
    ['non-ASCII', 'é'],
    ['a line separator', '\u2028'],
    ['an astral character', '😀'],
  ]

  it.each(badChars)('C1: refuses a name with %s', (_, c) => {
    expect(codeOf(() => validateCookieOptions({ ...base, name: `s${c}id` }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, name: `${c}sid` }))).toBe(INVALID)
  })

  it('C1: refuses = in a name, and an empty or missing name', () => {
    expect(codeOf(() => validateCookieOptions({ ...base, name: 'a=b' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, name: '' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, name: undefined as unknown as string }))).toBe(
      INVALID,
    )
    expect(codeOf(() => validateCookieOptions({ ...base, name: 42 as unknown as string }))).toBe(INVALID)
  })

  it.each(badChars)('C1: refuses a path with %s', (_, c) => {
    expect(codeOf(() => validateCookieOptions({ ...base, path: `/a${c}b` }))).toBe(INVALID)
  })

  it('C1: refuses an empty path or one not starting with /, accepts = in a path', () => {
    expect(codeOf(() => validateCookieOptions({ ...base, path: '' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, path: 'app' }))).toBe(INVALID)
    expect(validateCookieOptions({ ...base, path: '/a=b' }).path).toBe('/a=b')
  })

  it.each(badChars)('C1: refuses a domain with %s', (_, c) => {
    expect(codeOf(() => validateCookieOptions({ ...base, domain: `exa${c}mple.com` }))).toBe(INVALID)
  })

  it('C1: refuses an empty domain and one the cookie serializer rejects', () => {
    expect(codeOf(() => validateCookieOptions({ ...base, domain: '' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, domain: 'exa_mple.com' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, domain: 'a=b.com' }))).toBe(INVALID)
  })

  it('C1: accepts every token character in a name, and ordinary domains', () => {
    expect(validateCookieOptions({ ...base, name: "!#$%&'*+-.^_`|~09AZaz" }).name).toBe(
      "!#$%&'*+-.^_`|~09AZaz",
    )
    expect(validateCookieOptions({ ...base, domain: 'example.com' }).domain).toBe('example.com')
    expect(validateCookieOptions({ ...base, domain: '.sub.example.com' }).domain).toBe('.sub.example.com')
  })

  it('C1: refuses attribute values outside their types (a config carries no cookie value)', () => {
    const bad: Array<Partial<Record<keyof CookieOptions, unknown>>> = [
      { sameSite: 'Lax' },
      { sameSite: true },
      { sameSite: undefined },
      { secure: 'yes' },
      { secure: undefined },
      { httpOnly: 'true' },
      { partitioned: 1 },
      { priority: 'urgent' },
    ]
    for (const patch of bad) {
      expect(codeOf(() => validateCookieOptions({ ...base, ...patch } as CookieOptions))).toBe(INVALID)
    }
    expect(codeOf(() => validateCookieOptions(null as unknown as CookieOptions))).toBe(INVALID)
  })

  it('C1: returns a frozen normalized copy', () => {
    const input = { ...base, domain: undefined, priority: undefined, extra: 1 } as CookieOptions
    const out = validateCookieOptions(input)
    expect(out).not.toBe(input)
    expect(Object.isFrozen(out)).toBe(true)
    expect(Object.keys(out).sort()).toEqual(['httpOnly', 'name', 'partitioned', 'path', 'sameSite', 'secure'])
    const full = validateCookieOptions({ ...secureBase, domain: 'example.com', priority: 'high' })
    expect(full).toEqual({ ...secureBase, domain: 'example.com', priority: 'high' })
  })

  const hostNames = ['__Host-sid', '__host-sid', '__HOST-sid', '__HoSt-sid']
  it.each(hostNames)('C2: %s needs secure: true ("auto" and false are refused)', (name) => {
    expect(codeOf(() => validateCookieOptions({ ...base, name, secure: 'auto' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, name, secure: false }))).toBe(INVALID)
    expect(validateCookieOptions({ ...base, name, secure: true }).name).toBe(name)
  })

  it.each(hostNames)('C2: %s needs path / and no domain', (name) => {
    expect(codeOf(() => validateCookieOptions({ ...secureBase, name, path: '/app' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...secureBase, name, domain: 'example.com' }))).toBe(INVALID)
  })

  it.each(['__Secure-sid', '__secure-sid', '__SECURE-sid'])('C2: %s needs secure: true', (name) => {
    expect(codeOf(() => validateCookieOptions({ ...base, name, secure: 'auto' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, name, secure: false }))).toBe(INVALID)
    // Unlike __Host-, __Secure- allows any path and a domain.
    const ok = validateCookieOptions({ ...secureBase, name, path: '/app', domain: 'example.com' })
    expect(ok.name).toBe(name)
  })

  it('C2: Partitioned needs secure: true', () => {
    expect(codeOf(() => validateCookieOptions({ ...base, partitioned: true, secure: 'auto' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, partitioned: true, secure: false }))).toBe(INVALID)
    expect(validateCookieOptions({ ...secureBase, partitioned: true }).partitioned).toBe(true)
  })

  it('C2: SameSite=None needs secure: true', () => {
    expect(codeOf(() => validateCookieOptions({ ...base, sameSite: 'none', secure: 'auto' }))).toBe(INVALID)
    expect(codeOf(() => validateCookieOptions({ ...base, sameSite: 'none', secure: false }))).toBe(INVALID)
    expect(validateCookieOptions({ ...secureBase, sameSite: 'none' }).sameSite).toBe('none')
  })

  it('C2: names that merely contain a prefix are not prefixed', () => {
    expect(validateCookieOptions({ ...base, name: 'x__Host-sid', path: '/app', secure: false }).name).toBe(
      'x__Host-sid',
    )
    expect(validateCookieOptions({ ...base, name: '_Secure-sid', secure: false }).name).toBe('_Secure-sid')
  })
})

describe('serializeSessionCookie', () => {
  it('C3: never emits a name + value over 4096 bytes, and chunks reassemble (value lengths 0..7900)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7900 }), fc.nat(64), (length, seed) => {
        const value = sealLike(length, seed)
        const out = serializeSessionCookie(secureBase, value, 60, FUTURE, [], true)
        const written = pairs(out)
        expect(written.length).toBeLessThanOrEqual(2)
        let total = 0
        for (const [n, v] of written) {
          expect(n.length + v.length).toBeLessThanOrEqual(4096)
          total += n.length + v.length
        }
        expect(total).toBeLessThanOrEqual(8000)
        expect(new Set(written.map(([n]) => n)).size).toBe(written.length)
        const read = readSessionCookie(cookieHeader(out), 'sid', 2)
        expect(read.value).toBe(value)
      }),
      {
        numRuns: 300,
        examples: [
          [4093, 0],
          [4094, 0],
          [7900, 0],
          [0, 0],
        ],
      },
    )
  })

  it('C3: a value that fits is one plain cookie; one byte more is chunked', () => {
    expect(
      pairs(serializeSessionCookie(secureBase, sealLike(4093), 60, FUTURE, [], true)).map(([n]) => n),
    ).toEqual(['sid'])
    const chunked = pairs(serializeSessionCookie(secureBase, sealLike(4094), 60, FUTURE, [], true))
    expect(chunked.map(([n]) => n)).toEqual(['sid.0', 'sid.1'])
    expect(chunked[0]![1].length).toBe(4096 - 'sid.0'.length)
  })

  it('C3: custom chunk sizes stay bounded and reassemble', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 12, max: 600 }),
        fc.integer({ min: 0, max: 5000 }),
        (chunkSize, length) => {
          const value = sealLike(length)
          const limits = { chunkSize, maxChunks: 1000, maxTotal: 1_000_000 }
          const out = serializeSessionCookie(secureBase, value, 60, FUTURE, [], true, limits)
          for (const [n, v] of pairs(out)) expect(n.length + v.length).toBeLessThanOrEqual(chunkSize)
          expect(readSessionCookie(cookieHeader(out), 'sid', 1000).value).toBe(value)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('C3: over the total limit throws TOO_LARGE', () => {
    // 'sid.0' + 'sid.1' take 10 bytes of the 8000.
    expect(serializeSessionCookie(secureBase, sealLike(7990), 60, FUTURE, [], true)).toHaveLength(2)
    expect(codeOf(() => serializeSessionCookie(secureBase, sealLike(7991), 60, FUTURE, [], true))).toBe(
      TOO_LARGE,
    )
    expect(codeOf(() => serializeSessionCookie(secureBase, sealLike(10_240), 60, FUTURE, [], true))).toBe(
      TOO_LARGE,
    )
    const small = { maxTotal: 100 }
    expect(codeOf(() => serializeSessionCookie(secureBase, sealLike(98), 60, FUTURE, [], true, small))).toBe(
      TOO_LARGE,
    )
  })

  it('C3: more chunks than maxChunks throws TOO_LARGE', () => {
    const limits = { chunkSize: 100, maxChunks: 3, maxTotal: 100_000 }
    expect(serializeSessionCookie(secureBase, sealLike(285), 60, FUTURE, [], true, limits)).toHaveLength(3)
    expect(
      codeOf(() => serializeSessionCookie(secureBase, sealLike(286), 60, FUTURE, [], true, limits)),
    ).toBe(TOO_LARGE)
  })

  it('C3: a chunk size that leaves no room for a value throws TOO_LARGE instead of looping', () => {
    for (const chunkSize of [5, 3, 0, -1, Number.NaN]) {
      expect(
        codeOf(() =>
          serializeSessionCookie(secureBase, 'abcdefgh', 60, FUTURE, [], true, { chunkSize, maxChunks: 100 }),
        ),
      ).toBe(TOO_LARGE)
    }
  })

  it.each([
    ['a semicolon', 'a;b'],
    ['a space', 'a b'],
    ['a comma', 'a,b'],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['a control character', 'a\x01b'],
    ['non-ASCII', 'aéb'],
  ])('C1: refuses a value with %s', (_, value) => {
    expect(codeOf(() => serializeSessionCookie(secureBase, value, 60, FUTURE, [], true))).toBe(INVALID)
  })

  it('E9: a fully configured cookie has exactly its attributes', () => {
    const opts = validateCookieOptions({
      name: '__Secure-sid',
      path: '/app',
      domain: 'example.com',
      sameSite: 'strict',
      secure: true,
      httpOnly: true,
      partitioned: true,
      priority: 'high',
    })
    expect(serializeSessionCookie(opts, 'Fe26.2**abc_-', 3600, FUTURE, [], false)).toEqual([
      '__Secure-sid=Fe26.2**abc_-; Max-Age=3600; Domain=example.com; Path=/app; ' +
        'Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=Strict',
    ])
  })

  it('E9: the default-like cookie and each attribute switch', () => {
    const opts = validateCookieOptions(base)
    expect(serializeSessionCookie(opts, 'v', 60, FUTURE, [], false)).toEqual([
      'sid=v; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; SameSite=Lax',
    ])
    expect(serializeSessionCookie(opts, 'v', 60, FUTURE, [], true)).toEqual([
      'sid=v; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax',
    ])
    const plain = validateCookieOptions({
      ...base,
      secure: false,
      httpOnly: false,
      sameSite: false,
      priority: 'low',
    })
    expect(serializeSessionCookie(plain, 'v', 60, FUTURE, [], true)).toEqual([
      'sid=v; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Priority=Low',
    ])
    const none = validateCookieOptions({ ...secureBase, sameSite: 'none', priority: 'medium' })
    expect(serializeSessionCookie(none, 'v', 60, FUTURE, [], false)[0]).toMatch(
      /; HttpOnly; Secure; Priority=Medium; SameSite=None$/,
    )
  })

  it('E9: chunks carry the same attributes', () => {
    const out = serializeSessionCookie(secureBase, sealLike(5000), 60, FUTURE, [], true)
    expect(out.map((s) => s.slice(s.indexOf(';')))).toEqual([
      '; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax',
      '; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax',
    ])
  })

  it('E9: Max-Age must be whole seconds and Expires a valid date', () => {
    expect(codeOf(() => serializeSessionCookie(secureBase, 'v', 1.5, FUTURE, [], true))).toBe(INVALID)
    expect(codeOf(() => serializeSessionCookie(secureBase, 'v', Number.NaN, FUTURE, [], true))).toBe(INVALID)
    expect(codeOf(() => serializeSessionCookie(secureBase, 'v', 60, new Date(Number.NaN), [], true))).toBe(
      INVALID,
    )
  })

  it('E4: shrinking from 2 chunks to 1 cookie clears name.0 and name.1', () => {
    expect(serializeSessionCookie(secureBase, 'small', 60, FUTURE, ['sid.0', 'sid.1'], true)).toEqual([
      'sid=small; Max-Age=60; Path=/; Expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; Secure; SameSite=Lax',
      `sid.0=; Max-Age=0; Path=/; Expires=${EPOCH_HTTP}; HttpOnly; Secure; SameSite=Lax`,
      `sid.1=; Max-Age=0; Path=/; Expires=${EPOCH_HTTP}; HttpOnly; Secure; SameSite=Lax`,
    ])
  })

  it('E4: growing from a plain cookie to chunks clears the plain one', () => {
    const out = serializeSessionCookie(secureBase, sealLike(5000), 60, FUTURE, ['sid'], true)
    expect(pairs(out).map(([n]) => n)).toEqual(['sid.0', 'sid.1', 'sid'])
    expect(out[2]).toBe(`sid=; Max-Age=0; Path=/; Expires=${EPOCH_HTTP}; HttpOnly; Secure; SameSite=Lax`)
  })

  it('E4: shrinking from 3 chunks to 2 clears only the third; rewriting the same shape clears nothing', () => {
    const limits = { chunkSize: 100, maxChunks: 3, maxTotal: 100_000 }
    const out = serializeSessionCookie(
      secureBase,
      sealLike(150),
      60,
      FUTURE,
      ['sid.0', 'sid.1', 'sid.2'],
      true,
      limits,
    )
    expect(pairs(out)).toEqual([
      ['sid.0', expect.any(String)],
      ['sid.1', expect.any(String)],
      ['sid.2', ''],
    ])
    expect(serializeSessionCookie(secureBase, 'v', 60, FUTURE, ['sid'], true)).toHaveLength(1)
  })

  it('E4: exactly one Set-Cookie per name, and only this cookie’s names are cleared', () => {
    const present = ['sid.1', 'sid.1', 'other', 'sid.x', 'sidx', 'sid.', 'sid', 'sid.0.1', 'SID']
    const out = serializeSessionCookie(secureBase, 'v', 60, FUTURE, present, true)
    expect(pairs(out).map(([n]) => n)).toEqual(['sid', 'sid.1'])
  })
})

describe('serializeSessionCookie and clearSessionCookie, against cookie.serialize', () => {
  /** Cookie options of every shape validateCookieOptions accepts (and some it refuses, skipped). */
  const options = fc
    .record({
      prefix: fc.constantFrom('', '', '__Host-', '__Secure-'),
      name: fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/),
      path: fc.oneof(fc.constant('/'), fc.stringMatching(/^\/[\w/.~=!$&'()*+:@-]{0,16}$/)),
      domain: fc.option(
        fc.stringMatching(
          /^\.?[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?){0,3}$/,
        ),
        { nil: undefined },
      ),
      sameSite: fc.constantFrom('lax', 'strict', 'none', false) as fc.Arbitrary<CookieOptions['sameSite']>,
      secure: fc.constantFrom(true, false, 'auto') as fc.Arbitrary<CookieOptions['secure']>,
      httpOnly: fc.boolean(),
      partitioned: fc.boolean(),
      priority: fc.constantFrom('low', 'medium', 'high', undefined) as fc.Arbitrary<
        CookieOptions['priority']
      >,
    })
    .map(({ prefix, name, ...rest }): CookieOptions => ({ ...rest, name: prefix + name }))
  const sealValue = fc.string({ unit: fc.constantFrom(...B64URL, '.'), maxLength: 700 })
  const maxAge = fc.oneof(fc.integer({ min: 0, max: 400 * 86_400 }), fc.integer())
  // Any date: runs of the same second (as under load), either side of 1970 and of year 0.
  const expires = fc.oneof(
    fc.date({ noInvalidDate: true }),
    fc.integer({ min: -3, max: 3 }).map((ms) => new Date(1_893_456_000_000 + ms * 499)),
    fc.integer({ min: -2000, max: 2000 }).map((ms) => new Date(ms)),
  )

  /** What `cookie.serialize` writes for the same cookie, the way the engine used to call it. */
  function reference(
    opts: CookieOptions,
    name: string,
    value: string,
    age: number,
    at: Date,
    secureRequest: boolean,
  ): string {
    return serialize(name, value, {
      encode: (v) => v,
      path: opts.path,
      domain: opts.domain,
      maxAge: age,
      expires: at,
      httpOnly: opts.httpOnly,
      secure: opts.secure === true || (opts.secure === 'auto' && secureRequest),
      sameSite: opts.sameSite,
      partitioned: opts.partitioned,
      priority: opts.priority,
    })
  }

  function validOrSkip(opts: CookieOptions): Readonly<CookieOptions> {
    try {
      return validateCookieOptions(opts)
    } catch {
      fc.pre(false)
      throw new Error('unreachable')
    }
  }

  it('E9: property: every write and every clear is byte for byte what cookie.serialize makes', () => {
    fc.assert(
      fc.property(
        options,
        sealValue,
        maxAge,
        expires,
        fc.boolean(),
        fc.subarray(['', '.0', '.1', '.2', '.7']),
        (raw, value, age, at, secureRequest, suffixes) => {
          const opts = validOrSkip(raw)
          const present = suffixes.map((suffix) => opts.name + suffix)
          const limits = { chunkSize: 300, maxChunks: 10, maxTotal: 100_000 }
          const out = serializeSessionCookie(opts, value, age, at, present, secureRequest, limits)
          // The writes come first (one cookie, or chunks of `chunkSize` bytes with their names), then clears.
          let writes = 1
          if (opts.name.length + value.length > limits.chunkSize) {
            writes = 0
            for (let offset = 0; offset < value.length; writes++) {
              offset += limits.chunkSize - `${opts.name}.${writes}`.length
            }
          }
          const expected = pairs(out).map(([n, v], i) =>
            i < writes
              ? reference(opts, n, v, age, at, secureRequest)
              : reference(opts, n, '', 0, new Date(0), secureRequest),
          )
          expect(out).toEqual(expected)
          // Clearing (destroy) agrees too, and so do options that did not come from validateCookieOptions.
          const clears = present.map((n) => reference(opts, n, '', 0, new Date(0), secureRequest))
          expect(clearSessionCookie(opts, present, secureRequest)).toEqual(clears)
          expect(clearSessionCookie({ ...raw }, present, secureRequest)).toEqual(clears)
          expect(serializeSessionCookie({ ...raw }, value, age, at, present, secureRequest, limits)).toEqual(
            out,
          )
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('C1: refuses cookie-octets that no seal has; accepts every character a seal has', () => {
    for (const c of [
      '!',
      '#',
      '$',
      '%',
      '&',
      "'",
      '(',
      ')',
      '+',
      '/',
      ':',
      '<',
      '=',
      '>',
      '?',
      '@',
      '[',
      ']',
    ]) {
      expect(
        codeOf(() => serializeSessionCookie(secureBase, `a${c}b`, 60, FUTURE, [], true)),
        c,
      ).toBe(INVALID)
    }
    const every = `${B64URL}.`
    expect(serializeSessionCookie(secureBase, every, 60, FUTURE, [], true)[0]).toMatch(`sid=${every};`)
  })

  it('C1, C2: options that did not come from validateCookieOptions are validated before use', () => {
    const bad: CookieOptions[] = [
      { ...base, domain: 'exa_mple.com' },
      { ...base, name: 'a;b' },
      { ...base, name: '__Host-sid' },
      { ...base, sameSite: 'none' },
      { ...base, path: 'app' },
    ]
    for (const opts of bad) {
      expect(codeOf(() => serializeSessionCookie(opts, 'v', 60, FUTURE, [], true))).toBe(INVALID)
      expect(codeOf(() => clearSessionCookie(opts, ['sid'], true))).toBe(INVALID)
    }
  })
})

describe('clearSessionCookie', () => {
  it('L4: one clearing Set-Cookie per present name, same Path and Domain, empty, Max-Age=0, 1970', () => {
    const opts = validateCookieOptions({
      ...secureBase,
      path: '/app',
      domain: 'example.com',
      partitioned: true,
    })
    expect(clearSessionCookie(opts, ['sid', 'sid.0', 'sid.1'], false)).toEqual([
      `sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=${EPOCH_HTTP}; HttpOnly; Secure; Partitioned; SameSite=Lax`,
      `sid.0=; Max-Age=0; Domain=example.com; Path=/app; Expires=${EPOCH_HTTP}; HttpOnly; Secure; Partitioned; SameSite=Lax`,
      `sid.1=; Max-Age=0; Domain=example.com; Path=/app; Expires=${EPOCH_HTTP}; HttpOnly; Secure; Partitioned; SameSite=Lax`,
    ])
  })

  it('L4: Secure follows the request under "auto"; nothing present means nothing to clear', () => {
    expect(clearSessionCookie(base, ['sid'], false)).toEqual([
      `sid=; Max-Age=0; Path=/; Expires=${EPOCH_HTTP}; HttpOnly; SameSite=Lax`,
    ])
    expect(clearSessionCookie(base, ['sid'], true)).toEqual([
      `sid=; Max-Age=0; Path=/; Expires=${EPOCH_HTTP}; HttpOnly; Secure; SameSite=Lax`,
    ])
    expect(clearSessionCookie(base, [], true)).toEqual([])
  })

  it('L4: clears what readSessionCookie found', () => {
    const { present } = readSessionCookie('a=1; sid=x; sid.0=y; sid.1=z; sid.3=w', 'sid', 2)
    expect(pairs(clearSessionCookie(base, present, false)).map(([n]) => n)).toEqual([
      'sid',
      'sid.0',
      'sid.1',
      'sid.3',
    ])
  })
})

describe('readSessionCookie', () => {
  it('T9: duplicates resolve deterministically: the first occurrence wins', () => {
    expect(readSessionCookie('sid=first; sid=second', 'sid', 2)).toEqual({ value: 'first', present: ['sid'] })
    expect(readSessionCookie('sid=second; sid=first', 'sid', 2).value).toBe('second')
    expect(readSessionCookie('sid.0=A; sid.1=B; sid.0=X; sid.1=Y', 'sid', 2).value).toBe('AB')
    expect(readSessionCookie(['sid=a', 'sid=b'], 'sid', 2).value).toBe('a')
  })

  it('T9: split Cookie headers are all read', () => {
    expect(readSessionCookie(['a=1', 'sid.0=AB', 'b=2; sid.1=CD'], 'sid', 2)).toEqual({
      value: 'ABCD',
      present: ['sid.0', 'sid.1'],
    })
    expect(readSessionCookie(['a=1', 'sid=v'], 'sid', 2).value).toBe('v')
    expect(readSessionCookie(['sid', '=v'], 'sid', 2).value).toBeUndefined()
  })

  it('T9: the name match is exact-case', () => {
    expect(readSessionCookie('SID=x; Sid=y; sid.0x=z', 'sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie('SID.0=x; Sid.1=y', 'sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie('sid=x', 'SID', 2).value).toBeUndefined()
  })

  it('T9: a tossed case variant cannot displace a __Host- session', () => {
    expect(readSessionCookie('__host-sid=evil', '__Host-sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie('__host-sid=evil; __HOST-sid=evil; __Host-sid=good', '__Host-sid', 2)).toEqual({
      value: 'good',
      present: ['__Host-sid'],
    })
    expect(readSessionCookie(['__host-sid.0=evil', '__Host-sid=good'], '__Host-sid', 2).value).toBe('good')
  })

  it('T9: the chunked form wins over the plain one; a gap or maxChunks ends it', () => {
    expect(readSessionCookie('sid=plain; sid.0=A; sid.1=B', 'sid', 2)).toEqual({
      value: 'AB',
      present: ['sid', 'sid.0', 'sid.1'],
    })
    expect(readSessionCookie('sid.0=A; sid.2=C', 'sid', 3)).toEqual({
      value: 'A',
      present: ['sid.0', 'sid.2'],
    })
    expect(readSessionCookie('sid.1=B; sid=plain', 'sid', 2)).toEqual({
      value: 'plain',
      present: ['sid', 'sid.1'],
    })
    expect(readSessionCookie('sid.0=A; sid.1=B; sid.2=C', 'sid', 2)).toEqual({
      value: 'AB',
      present: ['sid.0', 'sid.1', 'sid.2'],
    })
  })

  it('T9: present lists chunks up to maxChunks + 4, in index order, and only canonical indexes', () => {
    const header = 'sid.7=h; sid.6=g; sid.01=x; sid.-1=x; sid.1.0=x; sid.=x; sid.0=a'
    expect(readSessionCookie(header, 'sid', 2)).toEqual({ value: 'a', present: ['sid.0', 'sid.6'] })
  })

  it('T3: values are returned raw (no %-decoding, no trimming inside), empty ones as empty', () => {
    expect(readSessionCookie('sid=a%41b', 'sid', 2).value).toBe('a%41b')
    expect(readSessionCookie('sid=%E0%A4%A', 'sid', 2).value).toBe('%E0%A4%A')
    expect(readSessionCookie('sid=', 'sid', 2)).toEqual({ value: '', present: ['sid'] })
    expect(readSessionCookie('sid=  a b  ', 'sid', 2).value).toBe('a b')
    expect(readSessionCookie('sid=é', 'sid', 2).value).toBe('é')
    expect(readSessionCookie(undefined, 'sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie('', 'sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie([], 'sid', 2)).toEqual({ value: undefined, present: [] })
  })

  it('T7: __proto__, constructor and toString cookie names pollute nothing', () => {
    const header =
      '__proto__=x; constructor=y; toString=z; hasOwnProperty=w; __proto__[polluted]=1; ' +
      'constructor.prototype.polluted=1; sid=v'
    const result = readSessionCookie(header, 'sid', 2)
    expect(result).toEqual({ value: 'v', present: ['sid'] })
    expect(Object.keys(result).sort()).toEqual(['present', 'value'])
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false)
    expect(typeof ({} as { toString: unknown }).toString).toBe('function')
  })

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'T7: a cookie named %s reads as a plain string or nothing, never an inherited member',
    (name) => {
      expect(readSessionCookie('a=1', name, 2)).toEqual({ value: undefined, present: [] })
      expect(readSessionCookie(`${name}.x=1; ${name}z=2`, name, 2)).toEqual({ value: undefined, present: [] })
      expect(readSessionCookie(`${name}=abc`, name, 2)).toEqual({ value: 'abc', present: [name] })
      expect(readSessionCookie(`${name}.0=ab; ${name}.1=cd`, name, 2)).toEqual({
        value: 'abcd',
        present: [`${name}.0`, `${name}.1`],
      })
      expect(({} as Record<string, unknown>).abc).toBeUndefined()
    },
  )

  const names = ['sid', 'SID', 'sid.0', '__Host-sid', '__proto__', 'constructor', 'toString', '']
  const cookieish = fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...names, 'sid.1', 'sid.2', 'sid.00', '__host-sid'), fc.string()),
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('')),
        fc.constantFrom('; ', ';', ', ', '', ' ; ', '=', '\t;'),
      ),
      { maxLength: 12 },
    )
    .map((parts) => parts.map(([n, v, sep]) => `${n}=${v}${sep}`).join(''))
  const headerArb = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    cookieish,
    fc.array(fc.oneof(fc.string(), cookieish)),
    fc.constant(undefined),
  )
  const maxChunksArb = fc.oneof(
    fc.integer({ min: -3, max: 12 }),
    fc.constantFrom(0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2.5, 2 ** 40),
  )

  it('T8: fuzzed Cookie headers never make readSessionCookie throw, and yield only sane results', () => {
    fc.assert(
      fc.property(
        headerArb,
        fc.oneof(fc.constantFrom(...names), fc.string()),
        maxChunksArb,
        (header, name, maxChunks) => {
          const { value, present } = readSessionCookie(header, name, maxChunks)
          expect(value === undefined || typeof value === 'string').toBe(true)
          expect(new Set(present).size).toBe(present.length)
          for (const p of present) expect(p === name || p.startsWith(`${name}.`)).toBe(true)
          if (value !== undefined) expect(present.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 3000 },
    )
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('T8: garbage types inside a header array are skipped, not thrown on', () => {
    const header = [1, null, {}, Symbol('x'), 'sid=v'] as unknown as string[]
    expect(readSessionCookie(header, 'sid', 2)).toEqual({ value: 'v', present: ['sid'] })
    expect(readSessionCookie(42 as unknown as string, 'sid', 2)).toEqual({ value: undefined, present: [] })
    expect(readSessionCookie('sid=v', Symbol('x') as unknown as string, 2)).toEqual({
      value: undefined,
      present: [],
    })
  })

  it('T3: huge headers (1 MB, extended values) are read without throwing', () => {
    const big = `${'a=b; '.repeat(100_000)}sid=${'x'.repeat(10_240)}; ${';'.repeat(100_000)}sid.0=${'y'.repeat(500_000)}`
    const { value, present } = readSessionCookie(big, 'sid', 2)
    expect(value).toBe('y'.repeat(500_000))
    expect(present).toEqual(['sid', 'sid.0'])
    expect(readSessionCookie('='.repeat(1_000_000), 'sid', 2).value).toBeUndefined()
    expect(readSessionCookie('sid.'.repeat(250_000), 'sid', Number.POSITIVE_INFINITY).value).toBeUndefined()
  })
})

/**
 * What reading the session cookie meant when it parsed the whole header with the `cookie` package:
 * the reference the targeted scan must match exactly.
 */
function readByFullParse(header: string | readonly string[], name: string, maxChunks: number) {
  const source = typeof header === 'string' ? header : header.filter((h) => h.includes(name)).join('; ')
  if (!source.includes(name)) return { value: undefined, present: [] }
  const jar = parse(source, { decode: (v) => v })
  const present: string[] = []
  const plain = jar[name]
  if (plain !== undefined) present.push(name)
  let chunked: string | undefined
  let contiguous = true
  for (let i = 0; i <= maxChunks + 4; i++) {
    const chunk = jar[`${name}.${i}`]
    if (chunk === undefined) {
      contiguous = false
      continue
    }
    present.push(`${name}.${i}`)
    if (contiguous && i < maxChunks) chunked = chunked === undefined ? chunk : chunked + chunk
  }
  return { value: chunked ?? plain, present }
}

describe('T12: hostile Cookie headers', () => {
  const fragment = fc.constantFrom(
    'sid',
    'sid.0',
    'sid.1',
    'sid.2',
    'sid.3',
    'sid.01',
    'sid.',
    'sid.9',
    'sid.10',
    'xsid',
    'SID',
    '=',
    '=',
    ';',
    ';',
    ' ',
    '\t',
    'a',
    'Fe26.2*',
    '.',
    '0',
    '"',
    ',',
    'sid=',
    '; sid=',
    'sid.1=',
    ' = ',
  )

  it('T12: the targeted scan reads exactly what parsing every pair with the cookie package read', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fragment, { maxLength: 30 }).map((parts) => parts.join('')),
          { minLength: 1, maxLength: 3 },
        ),
        fc.integer({ min: 1, max: 4 }),
        (headers, maxChunks) => {
          const header = headers.length === 1 ? headers[0]! : headers
          expect(readSessionCookie(header, 'sid', maxChunks)).toEqual(
            readByFullParse(header, 'sid', maxChunks),
          )
        },
      ),
      { numRuns: 5000, seed: 12 },
    )
  })

  it("T12: 1,800 other cookies cost no more substrings than ten: only this app's names are read", () => {
    const junk = (n: number) => Array.from({ length: n }, (_, i) => `c${i}=value${i}`)
    const header = (n: number) =>
      [...junk(n >> 1), 'sid=token', 'sid.7=stale', ...junk(n - (n >> 1))].join('; ')
    const substrings = (h: string) => {
      const slice = vi.spyOn(String.prototype, 'slice')
      const substring = vi.spyOn(String.prototype, 'substring')
      const split = vi.spyOn(String.prototype, 'split')
      try {
        expect(readSessionCookie(h, 'sid', 2)).toEqual({ value: 'token', present: ['sid'] })
        return slice.mock.calls.length + substring.mock.calls.length + split.mock.calls.length
      } finally {
        vi.restoreAllMocks()
      }
    }
    const few = substrings(header(10))
    expect(few).toBeLessThanOrEqual(2)
    expect(substrings(header(1800))).toBe(few)
  })
})
