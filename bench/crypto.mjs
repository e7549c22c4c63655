/**
 * Seal and unseal of a 200-byte and a 3 KB session: this project's sealer, iron-webcrypto used
 * plainly (string password, its defaults), @hapi/iron, and the node:crypto lower bound (the same
 * AES-256-CBC + HMAC-SHA256 work, keys derived once). Microseconds per operation, the median of
 * several timed batches. Progress on stderr, JSON on stdout.
 *
 *   node crypto.mjs [--quick]
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import { performance } from 'node:perf_hooks'
import * as hapiIron from '@hapi/iron'
import { createSessionManager } from '@x/session-core'
// Unstable, exported for this benchmark: the built package, as apps get it (`pnpm build` first).
import { createSealer } from '@x/session-core/internal'
import * as ironWebcrypto from 'iron-webcrypto'
import { seedData } from './lib/common.mjs'

const quick = process.argv.includes('--quick')
const BATCHES = quick ? 7 : 21
const BATCH_MS = quick ? 15 : 50
const WARMUP_MS = quick ? 100 : 400

const password = 'bench-password-of-at-least-32-characters!'
const WEEK = 7 * 86_400_000
const MONTH = 30 * 86_400_000

/** A session whose JSON is exactly `bytes` long: seedData plus padding in a `notes` field. */
export function sessionOfSize(bytes) {
  const { cart: _cart, ...base } = { ...seedData(1), notes: '' }
  const pad = bytes - JSON.stringify(base).length
  if (pad < 0) throw new Error(`a session cannot be as small as ${bytes} bytes`)
  base.notes = 'x'.repeat(pad)
  return base
}

const sizes = [
  ['200 B', sessionOfSize(200)],
  ['3 KB', sessionOfSize(3072)],
]

/** node:crypto, iron's exact format and work, keys derived once: what any iron implementation costs at least. */
function nodeLowerBound() {
  const encSalt = randomBytes(32).toString('hex')
  const macSalt = randomBytes(32).toString('hex')
  // Iron's key derivation (PBKDF2-SHA1, 1 iteration, 256 bits), done once.
  const encKey = pbkdf2Sync(password, encSalt, 1, 32, 'sha1')
  const macKey = pbkdf2Sync(password, macSalt, 1, 32, 'sha1')
  return {
    async seal(object) {
      const iv = randomBytes(16)
      const cipher = createCipheriv('aes-256-cbc', encKey, iv)
      const encrypted = Buffer.concat([cipher.update(JSON.stringify(object), 'utf8'), cipher.final()])
      const base = `Fe26.2**${encSalt}*${iv.toString('base64url')}*${encrypted.toString('base64url')}*${Date.now() + WEEK}`
      const mac = createHmac('sha256', macKey).update(base).digest('base64url')
      return `${base}*${macSalt}*${mac}`
    },
    async unseal(token) {
      const parts = token.split('*')
      if (parts.length !== 8 || parts[6] !== macSalt || parts[2] !== encSalt) throw new Error('bad token')
      if (!(Number(parts[5]) > Date.now())) throw new Error('expired')
      const base = token.slice(0, token.length - parts[6].length - parts[7].length - 2)
      const mac = createHmac('sha256', macKey).update(base).digest()
      const given = Buffer.from(parts[7], 'base64url')
      if (given.length !== mac.length || !timingSafeEqual(mac, given)) throw new Error('bad seal')
      const decipher = createDecipheriv('aes-256-cbc', encKey, Buffer.from(parts[3], 'base64url'))
      const json = Buffer.concat([decipher.update(Buffer.from(parts[4], 'base64url')), decipher.final()])
      return JSON.parse(json.toString('utf8'))
    },
  }
}

async function implementations() {
  const ours = createSealer(password, { cacheSize: 0 })
  const oursCached = createSealer(password)
  const wc = ironWebcrypto
  const list = [
    {
      name: 'this project (core sealer)',
      note: '@x/session-core/internal (the built package)',
      seal: (o) => ours.seal(o, Date.now() + WEEK),
      unseal: async (t) => {
        const r = await ours.unseal(t, Date.now(), MONTH)
        if (!r.ok) throw new Error(r.reason)
        return r.payload
      },
    },
    {
      name: 'this project, unseal cache hit',
      note: 'same sealer with its default unseal cache: an unchanged cookie seen again',
      seal: undefined,
      unseal: async (t) => {
        const r = await oursCached.unseal(t, Date.now(), MONTH)
        if (!r.ok) throw new Error(r.reason)
        return r.payload
      },
      sealWith: (o) => oursCached.seal(o, Date.now() + WEEK),
    },
    ...(ours.sealSync && ours.unsealSync
      ? [
          {
            name: 'this project, synchronous (node:crypto)',
            note: 'sealSync / unsealSync of the same sealer: no promise per operation',
            seal: (o) => ours.sealSync(o, Date.now() + WEEK),
            unseal: (t) => {
              const r = ours.unsealSync(t, Date.now(), MONTH)
              if (!r.ok) throw new Error(r.reason)
              return r.payload
            },
          },
        ]
      : []),
    {
      name: 'iron-webcrypto (plain)',
      note: 'seal/unseal(object, password, defaults): keys derived with PBKDF2 on every call',
      seal: (o) => wc.seal(o, password, wc.defaults),
      unseal: (t) => wc.unseal(t, password, wc.defaults),
    },
    {
      name: '@hapi/iron',
      note: 'seal/unseal(object, password, defaults)',
      seal: (o) => hapiIron.seal(o, password, hapiIron.defaults),
      unseal: (t) => hapiIron.unseal(t, password, hapiIron.defaults),
    },
    {
      name: 'node:crypto lower bound',
      note: 'createCipheriv + createHmac, iron format, keys derived once',
      ...nodeLowerBound(),
    },
    ...managerCycles(),
  ]
  return list
}

/** The whole per-request work through the public API, for scale: begin + load + commit. */
function managerCycles() {
  const manager = createSessionManager({ secret: password, unsealCacheSize: 0 })
  return [
    {
      name: 'this project, whole cycle (public API)',
      note: 'write: begin+load+set+commit of a new session; read: begin+load+commit of a cookie, unseal cache off',
      seal: async (o) => {
        const cycle = manager.begin({ cookieHeader: undefined })
        const s = await cycle.load()
        Object.assign(s, o)
        const { setCookie } = await cycle.commit()
        // A 3 KB session takes two cookies (chunks past 4096 bytes): send them all back.
        return setCookie.map((line) => line.slice(0, line.indexOf(';'))).join('; ')
      },
      unseal: async (cookie) => {
        const cycle = manager.begin({ cookieHeader: cookie })
        const s = await cycle.load()
        if (s.isNew) throw new Error('the cookie did not load')
        await cycle.commit()
        return s
      },
    },
  ]
}

/** Median microseconds per call of `fn` over timed batches; a synchronous `fn` is not awaited. */
async function measure(fn) {
  const first = fn()
  const sync = typeof first?.then !== 'function'
  if (!sync) await first
  const until = performance.now() + WARMUP_MS
  while (performance.now() < until) await fn()
  const perOp = []
  for (let b = 0; b < BATCHES; b++) {
    let ops = 0
    const start = performance.now()
    let now = start
    while (now - start < BATCH_MS) {
      if (sync) for (let i = 0; i < 16; i++) fn()
      else for (let i = 0; i < 16; i++) await fn()
      ops += 16
      now = performance.now()
    }
    perOp.push(((now - start) * 1000) / ops)
  }
  perOp.sort((a, b) => a - b)
  return { us: perOp[Math.floor(perOp.length / 2)], min: perOp[0], max: perOp[perOp.length - 1] }
}

const impls = await implementations()
const results = []
const total = impls.reduce((n, i) => n + (i.seal ? 2 : 1), 0) * sizes.length
let done = 0
for (const [sizeName, object] of sizes) {
  for (const impl of impls) {
    // Tokens each implementation reads: its own, made once.
    const token = await (impl.seal ?? impl.sealWith)(object)
    const back = await impl.unseal(token)
    if (JSON.stringify(back.notes) !== JSON.stringify(object.notes)) {
      throw new Error(`${impl.name}: unseal did not give the sealed session back`)
    }
    // Like for like: every Fe26.2 token here must open with iron-webcrypto too.
    if (!impl.name.includes('whole cycle')) {
      const cross = await ironWebcrypto.unseal(token, password, ironWebcrypto.defaults)
      if (cross?.notes !== object.notes) throw new Error(`${impl.name}: iron-webcrypto cannot read its token`)
    }
    for (const op of ['seal', 'unseal']) {
      if (op === 'seal' && !impl.seal) continue
      const fn = op === 'seal' ? () => impl.seal(object) : () => impl.unseal(token)
      const m = await measure(fn)
      results.push({ implementation: impl.name, note: impl.note, size: sizeName, op, ...m })
      done++
      process.stderr.write(
        `  crypto [${String(done).padStart(2)}/${total}] ${sizeName.padEnd(5)} ${op.padEnd(6)} ${impl.name.padEnd(40)} ${m.us.toFixed(1).padStart(8)} µs\n`,
      )
    }
  }
}
process.stdout.write(`${JSON.stringify({ batches: BATCHES, batchMs: BATCH_MS, results })}\n`)
