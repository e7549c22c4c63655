import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const require = createRequire(import.meta.url)

/**
 * The fixture app, a create-next-app-shaped app that imports `@x/session-next` as users do, once
 * per supported Next.js major: `test/fixture` itself for 16 (the `next` dev dependency), and a copy
 * of it for 15 whose `node_modules/next` is the `next15` alias (gitignored, made fresh each run).
 */
export const fixtures = {
  16: { dir: fileURLToPath(new URL('./fixture/', import.meta.url)), next: 'next' },
  15: { dir: fileURLToPath(new URL('./.fixture-next15/', import.meta.url)), next: 'next15' },
} as const

/** The `next` CLI of a fixture's Next.js. */
export const nextCli = (major: keyof typeof fixtures): string =>
  require.resolve(`${fixtures[major].next}/dist/bin/next`)

/**
 * Builds each fixture once per test run with `next build`, from nothing: the previous run's
 * output is deleted first, so no build is ever reused. The apps import the package from its built
 * `dist`, as an app would (turbo runs this package's `build`, and core's, before its tests).
 */
export default async function setup(): Promise<void> {
  for (const pkg of ['../dist/index.js', '../../core/dist/index.js']) {
    if (!existsSync(fileURLToPath(new URL(pkg, import.meta.url)))) {
      throw new Error(`${pkg} is missing: run \`pnpm turbo run build --filter @x/session-next...\` first`)
    }
  }
  const next15 = fixtures[15].dir
  rmSync(next15, { recursive: true, force: true })
  cpSync(fixtures[16].dir, next15, {
    recursive: true,
    filter: (source) => !/[\\/](\.next|next-env\.d\.ts)$/.test(source),
  })
  mkdirSync(`${next15}node_modules`)
  symlinkSync(dirname(require.resolve('next15/package.json')), `${next15}node_modules/next`, 'dir')

  // One after the other: run together on a small machine they take longer than in turn.
  for (const major of [16, 15] as const) {
    const { dir } = fixtures[major]
    rmSync(`${dir}.next`, { recursive: true, force: true })
    const started = Date.now()
    await promisify(execFile)(process.execPath, [nextCli(major), 'build', dir], {
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    })
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`next build of the fixture with Next.js ${major}: ${seconds} s`)
  }
}
