import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { inspectSession } from './inspect.js'
import type { SecretInput } from './internal/sealer.js'

const usage = `Usage:
  x-session secret                 print a new random secret (256 bits, base64url)
  x-session decode [cookie|token]  open a session cookie (from the argument, else stdin)

decode reads the secret from SESSION_SECRET: a string, or a JSON key map ('{"k1":"...","k2":"..."}').
Options for decode:
  --cookie NAME             the session cookie's name (default: session)
  --idle-timeout SECONDS    the app's idleTimeout (default: 604800)
  --absolute-timeout SECONDS  the app's absoluteTimeout (default: 2592000)
  --json                    print JSON instead of text
Exit codes: 0 a session, 1 no session (the reason is printed), 2 a usage error.`

/** Runs one command; returns the exit code. Output goes through `out`, errors through `err`. */
export async function main(
  argv: readonly string[],
  io: {
    env: Readonly<Record<string, string | undefined>>
    stdin: () => string
    out: (line: string) => void
    err: (line: string) => void
  },
): Promise<number> {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, input, ...extra] = positionals
  if (values.help || command === undefined || extra.length > 0) {
    ;(command === undefined || extra.length > 0 ? io.err : io.out)(usage)
    return values.help ? 0 : 2
  }
  if (command === 'secret') {
    io.out(randomBytes(32).toString('base64url'))
    return 0
  }
  if (command !== 'decode') {
    io.err(`unknown command '${command}'\n\n${usage}`)
    return 2
  }
  const secret = secretFrom(io.env.SESSION_SECRET)
  if (secret === undefined) {
    io.err('decode needs the secret in SESSION_SECRET (a string, or a JSON key map)')
    return 2
  }
  const idleTimeout = secondsOption(values['idle-timeout'], '--idle-timeout', io.err)
  const absoluteTimeout = secondsOption(values['absolute-timeout'], '--absolute-timeout', io.err)
  if (idleTimeout === null || absoluteTimeout === null) return 2
  let result: Awaited<ReturnType<typeof inspectSession>>
  try {
    result = await inspectSession(input ?? io.stdin(), {
      secret,
      ...(values.cookie === undefined ? {} : { cookieName: values.cookie }),
      ...(idleTimeout === undefined ? {} : { idleTimeout }),
      ...(absoluteTimeout === undefined ? {} : { absoluteTimeout }),
    })
  } catch (error) {
    // Only the secret can be wrong here (too short, a bad key id): say which rule, never the secret.
    io.err(`SESSION_SECRET is not usable: ${(error as Error).message}`)
    return 2
  }
  if (values.json) io.out(JSON.stringify(result, null, 2))
  else io.out(describe(result))
  return result.ok ? 0 : 1
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      cookie: { type: 'string' },
      'idle-timeout': { type: 'string' },
      'absolute-timeout': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

function secretFrom(value: string | undefined): SecretInput | undefined {
  if (value === undefined || value === '') return undefined
  if (!value.trimStart().startsWith('{')) return value
  try {
    return JSON.parse(value) as Record<string, string>
  } catch {
    return value
  }
}

/** `undefined` when not given, `null` (after saying why) when not a positive number. */
function secondsOption(value: string | undefined, name: string, err: (line: string) => void) {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds > 0) return seconds
  err(`${name} takes a positive number of seconds, got '${value}'`)
  return null
}

function describe(result: Awaited<ReturnType<typeof inspectSession>>): string {
  if (!result.ok) {
    const key = result.keyId === undefined ? '' : ` (key id '${result.keyId}')`
    return `no session: ${result.reason}${key}`
  }
  const time = (ms: number) => new Date(ms).toISOString()
  const lines = [
    'a session',
    `  key id:     '${result.keyId}'`,
    `  payload:    version ${result.payloadVersion}`,
    `  id:         ${result.id}`,
    `  created:    ${time(result.createdAt)}`,
    `  refreshed:  ${time(result.refreshedAt)}${result.serverStore ? ' (when the token was sealed)' : ''}`,
    `  expires:    ${time(result.expiresAt)}${result.serverStore ? ' at the latest (the store keeps the idle time)' : ''}`,
  ]
  if (result.user !== undefined) lines.push(`  user:       ${result.user}`)
  lines.push(
    result.serverStore
      ? '  data:       in the server store (the cookie names the session only)'
      : `  data:       ${JSON.stringify(result.data, null, 2).replace(/\n/g, '\n  ')}`,
  )
  return lines.join('\n')
}

/**
 * Runs the command line of this process and sets its exit code: what the `x-session` bin
 * (`bin/x-session.js`) calls. Tests call `main` instead, with their own input and output.
 */
export function run(): Promise<void> {
  return main(process.argv.slice(2), {
    env: process.env,
    stdin: () => readFileSync(0, 'utf8'),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).message}\n`)
      process.exitCode = 2
    },
  )
}
