#!/usr/bin/env node
/**
 * Type-checks every TypeScript sample of the docs (```ts fences, api/ excepted) against the
 * packages' source. Each sample is a module of its own, after the page's `samplePrelude` (front
 * matter: the imports and names a page's fragments share, such as `app`). A sample that should
 * not be checked does not exist: every ```ts fence is compiled. Prelude lines that declare a name
 * the sample declares itself are left out.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const docs = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(docs, '.samples')

function* pages(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'api') continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* pages(path)
    else if (entry.name.endsWith('.md')) yield path
  }
}

/** The `samplePrelude: |` block of a page's front matter, or ''. */
function prelude(text) {
  const front = /^---\n([\s\S]*?)\n---\n/.exec(text)?.[1] ?? ''
  const block = /^samplePrelude: \|\n((?: {2}.*\n?)*)/m.exec(`${front}\n`)?.[1] ?? ''
  return block.replace(/^ {2}/gm, '')
}

/** The top-level names a line or a sample declares: imports, consts, functions, types. */
function declared(code) {
  const names = []
  for (const [, clause] of code.matchAll(/^import\s+(?:type\s+)?(.+?)\s+from\s/gm)) {
    for (const part of clause.replace(/[{}]/g, ',').split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.replace(/^type\s+/, '')
        .replace(/^\*\s+as\s+/, '')
      if (name) names.push(name)
    }
  }
  for (const [, name] of code.matchAll(
    /^(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:const|let|function|class|interface|type)\s+(\w+)/gm,
  ))
    names.push(name)
  return names
}

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
// Modules the samples import that stand for the reader's own code (`./my-adapter.js`).
const support = join(docs, 'scripts', 'sample-modules')
for (const file of readdirSync(support)) writeFileSync(join(out, file), readFileSync(join(support, file)))
const index = []
for (const page of pages(docs)) {
  const text = readFileSync(page, 'utf8')
  const shared = prelude(text)
  const fence = /^```(?:ts|typescript)\b[^\n]*\n([\s\S]*?)^```/gm
  let n = 0
  for (const match of text.matchAll(fence)) {
    const line = text.slice(0, match.index).split('\n').length + 1
    const name = `${relative(docs, page).replace(/[\\/]/g, '_').replace(/\.md$/, '')}_${++n}.ts`
    // The page's prelude, less the lines that declare a name the sample declares itself.
    const own = declared(match[1])
    const head = shared
      .split('\n')
      .filter((line) => !declared(line).some((name) => own.includes(name)))
      .join('\n')
    // `export {}` makes each sample a module, so two samples never share a top-level name.
    const headLines = head ? head.split('\n').length : 0
    writeFileSync(
      join(out, name),
      `${head}${head.endsWith('\n') || !head ? '' : '\n'}${match[1]}\nexport {}\n`,
    )
    index.push({ name, page: relative(docs, page), line, headLines })
  }
}
console.log(`type-checking ${index.length} TypeScript samples`)
const tsc = createRequire(join(docs, 'package.json')).resolve('typescript/bin/tsc')
try {
  execFileSync(process.execPath, [tsc, '-p', join(docs, 'tsconfig.json'), '--pretty', 'false'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
} catch (error) {
  // Point each error at the page and line of the sample, not the generated file.
  const report = String(error.stdout).replace(
    /\.samples\/([\w.-]+\.ts)\((\d+),(\d+)\)/g,
    (all, file, row) => {
      const sample = index.find((s) => s.name === file)
      if (!sample) return all
      const at = Number(row) - sample.headLines
      return at > 0
        ? `${sample.page}:${sample.line + at - 1}`
        : `${sample.page} (samplePrelude, sample at line ${sample.line})`
    },
  )
  console.error(report)
  process.exit(1)
}
