/**
 * Re-renders a report from its JSON, e.g. after a change to the tables or the chart:
 *
 *   node report.mjs [results/latest.json]   -> results/latest.md and results/latest.svg beside it
 *
 * A full run's report (results/latest.json) also goes into README.md and the docs site again.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { fullMarkdown, publishFullRun, svgChart } from './lib/report.mjs'

const file = process.argv[2] ?? new URL('results/latest.json', import.meta.url).pathname
const report = JSON.parse(readFileSync(file, 'utf8'))
const base = file.replace(/\.json$/, '')
const markdown = fullMarkdown(report)
writeFileSync(`${base}.md`, `${markdown}\n`)
const svg = report.scenarios.some((s) => s.ratio !== undefined)
  ? svgChart(report.scenarios, `@x/session bench, ${report.meta.date.slice(0, 10)} (${report.meta.mode})`)
  : undefined
if (svg !== undefined) writeFileSync(`${base}.svg`, svg)
console.log(`wrote ${base}.md${report.scenarios.length ? ` and ${base}.svg` : ''}`)
if (base.endsWith('/latest') && report.meta.mode === 'full') {
  for (const updated of publishFullRun(fileURLToPath(new URL('.', import.meta.url)), markdown))
    console.log(`updated ${updated}`)
}
