import { execFile } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

/** The fixture app: a create-next-app-shaped app that imports `@x/session-next` as users do. */
export const fixtureDir = fileURLToPath(new URL('./fixture/', import.meta.url))

/**
 * Builds the fixture once per test run with `next build`, from nothing: the previous run's output
 * is deleted first, so no build is ever reused. The app imports the package as an app would, from
 * its built `dist` (turbo runs this package's `build`, and core's, before its tests).
 */
export default async function setup(): Promise<void> {
  for (const pkg of ['../dist/index.js', '../../core/dist/index.js']) {
    if (!existsSync(fileURLToPath(new URL(pkg, import.meta.url)))) {
      throw new Error(`${pkg} is missing: run \`pnpm turbo run build --filter @x/session-next...\` first`)
    }
  }
  rmSync(new URL('./fixture/.next/', import.meta.url), { recursive: true, force: true })
  const cli = createRequire(import.meta.url).resolve('next/dist/bin/next')
  const started = Date.now()
  await promisify(execFile)(process.execPath, [cli, 'build', fixtureDir], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    maxBuffer: 16 * 1024 * 1024,
  })
  console.log(`next build of the fixture: ${((Date.now() - started) / 1000).toFixed(1)} s`)
}
