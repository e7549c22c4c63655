import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defineConfig } from 'tsup'
import { packageBuild } from '../../tsup.shared.ts'

/**
 * These two ship ESM only. The ESM build keeps them as ordinary dependencies; the CommonJS build
 * bundles them, because `require()` of an ES module only works by default from Node 20.19 / 22.12
 * and this package supports every Node >= 20.
 */
const esmOnlyDependencies = ['iron-webcrypto', 'uint8array-extras']

const common = packageBuild({
  entry: ['src/index.ts', 'src/testing.ts', 'src/context.ts', 'src/internal.ts', 'src/cli.ts'],
  // Two configs build in parallel into one folder: tsup's own `clean` in either would race the
  // other, so the folder is emptied once, below, before both start.
  clean: false,
})

export default defineConfig(() => {
  rmSync('dist', { recursive: true, force: true })
  return [
    { ...common, format: 'esm' },
    {
      ...common,
      format: 'cjs',
      noExternal: esmOnlyDependencies,
      onSuccess: async () => {
        writeBundledLicenses()
        nameBundledModules()
        checkRequireWithoutEsmSupport()
      },
    },
  ]
})

/** Bundled code carries its MIT notices with it: one file in `dist`, which is what is published. */
function writeBundledLicenses(): void {
  const sections = esmOnlyDependencies.map((name) => {
    const dir = realpathSync(join('node_modules', name))
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
    const file = readdirSync(dir).find((entry) => /^licen[cs]e/i.test(entry))
    if (!file) throw new Error(`${name}: no license file to ship with the CommonJS bundle`)
    return `## ${name}@${version}\n\n${readFileSync(join(dir, file), 'utf8').trim()}\n`
  })
  writeFileSync(
    'dist/THIRD-PARTY-LICENSES.md',
    `# Third-party code in the CommonJS build (dist/*.cjs)\n\n${sections.join('\n')}`,
  )
}

/**
 * esbuild heads each bundled module with its path on the build machine
 * (`// ../../node_modules/.pnpm/iron-webcrypto@2.0.0/node_modules/iron-webcrypto/index.js`): say
 * `// iron-webcrypto/index.js` instead, on the same line, so nothing about this machine ships.
 */
function nameBundledModules(): void {
  for (const file of readdirSync('dist').filter((name) => name.endsWith('.cjs'))) {
    const path = join('dist', file)
    const text = readFileSync(path, 'utf8')
    const named = text.replace(/^\/\/ (?:\.\.\/)*node_modules\/(?:\.pnpm\/[^/\n]+\/node_modules\/)?/gm, '// ')
    if (named !== text) writeFileSync(path, named)
  }
}

/**
 * Loads the CommonJS build with require(esm) switched off, as Node 20.0-20.18 runs it: a new
 * ESM-only import that is not in the bundle list fails the build here, not in a user's app.
 */
function checkRequireWithoutEsmSupport(): void {
  const flag = '--no-experimental-require-module'
  const flags = process.allowedNodeEnvironmentFlags.has(flag) ? [flag] : []
  for (const entry of ['dist/index.cjs', 'dist/testing.cjs', 'dist/context.cjs', 'dist/internal.cjs']) {
    if (!existsSync(entry)) throw new Error(`${entry} was not built`)
    execFileSync(process.execPath, [...flags, '-e', `require(${JSON.stringify(`./${entry}`)})`], {
      stdio: 'inherit',
    })
  }
}
