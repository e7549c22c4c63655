#!/usr/bin/env node
/**
 * What every published package must carry and must not: run after a build (root `pnpm lint`).
 * - metadata: homepage, bugs, keywords, and a repository pointing at the package's own folder;
 * - every bin in the tarball, with the files it imports, and runnable;
 * - no source maps (see tsup.shared.ts for why) and no build-machine path in any shipped file.
 * Prints one line per package with its packed and unpacked size, as `npm pack` counts them.
 *
 *   node scripts/check-packages.mjs            # every packages/* that is not private
 *   node scripts/check-packages.mjs packages/core
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(fileURLToPath(import.meta.url), '..', '..')
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
/** Paths that only exist on the machine that built the package. */
const MACHINE_PATHS = /node_modules\/\.pnpm|\/home\/|\/Users\/|[A-Z]:\\\\|\/tmp\//

const dirs =
  process.argv.length > 2
    ? process.argv.slice(2).map((dir) => resolve(dir))
    : readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name))

const problems = []
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  if (pkg.private) continue
  const problem = (text) => problems.push(`${pkg.name}: ${text}`)
  const where = relative(root, dir).split('\\').join('/')

  if (typeof pkg.homepage !== 'string' || !pkg.homepage.startsWith(rootPkg.homepage))
    problem(`homepage must be a page of ${rootPkg.homepage}`)
  if (pkg.repository?.url !== rootPkg.repository.url || pkg.repository?.directory !== where)
    problem(`repository must be { url: ${rootPkg.repository.url}, directory: ${where} }`)
  if (pkg.bugs?.url !== rootPkg.bugs.url) problem(`bugs.url must be ${rootPkg.bugs.url}`)
  if (!Array.isArray(pkg.keywords) || pkg.keywords.length < 3) problem('needs at least 3 keywords')

  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  )
  for (const { path } of packed.files) {
    if (path.endsWith('.map')) problem(`ships a source map: ${path}`)
    const text = readFileSync(join(dir, path), 'utf8')
    const hit = text.match(MACHINE_PATHS)
    if (hit) problem(`${path} contains a build-machine path (${hit[0]})`)
  }
  // Each bin is shipped, with what it imports, and runs: `x-session secret` prints a secret.
  const shipped = new Set(packed.files.map((file) => file.path))
  for (const [name, file] of Object.entries(
    typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {}),
  )) {
    const path = file.replace(/^\.\//, '')
    if (!shipped.has(path)) {
      problem(`bin ${name} (${path}) is not in the tarball`)
      continue
    }
    for (const [, target] of readFileSync(join(dir, path), 'utf8').matchAll(/^import .*'(\.\.?\/[^']+)'/gm)) {
      const imported = join(dirname(path), target).split('\\').join('/')
      if (!shipped.has(imported)) problem(`bin ${name} imports ${imported}, which is not in the tarball`)
    }
    try {
      const output = execFileSync(process.execPath, [join(dir, path), 'secret'], {
        cwd: dir,
        encoding: 'utf8',
      })
      if (!/^[\w-]{43}\n$/.test(output)) problem(`bin ${name}: 'secret' printed ${JSON.stringify(output)}`)
    } catch (error) {
      problem(`bin ${name} does not run: ${error.message}`)
    }
  }
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`
  console.log(
    `${pkg.name.padEnd(30)} packed ${kb(packed.size).padStart(9)}  unpacked ${kb(packed.unpackedSize).padStart(9)}  ${packed.entryCount} files`,
  )
}
if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
