/**
 * Re-renders a report from its JSON, e.g. after a change to the tables or the chart:
 *
 *   node report.mjs [results/latest.json]   -> results/latest.md and results/latest.svg beside it
 *
 * A full run's report (results/latest.json) also goes into README.md again.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { renderMarkdown, svgChart, updateReadme } from './lib/report.mjs'

const file = process.argv[2] ?? new URL('results/latest.json', import.meta.url).pathname
const report = JSON.parse(readFileSync(file, 'utf8'))
const base = file.replace(/\.json$/, '')
const markdown = renderMarkdown(report)
writeFileSync(`${base}.md`, `${markdown}\n`)
if (report.scenarios.some((s) => s.ratio !== undefined)) {
  writeFileSync(
    `${base}.svg`,
    svgChart(report.scenarios, `@x/session bench, ${report.meta.date.slice(0, 10)} (${report.meta.mode})`),
  )
}
console.log(`wrote ${base}.md${report.scenarios.length ? ` and ${base}.svg` : ''}`)
if (base.endsWith('/latest') && report.meta.mode === 'full') {
  if (updateReadme(new URL('README.md', import.meta.url).pathname, markdown)) console.log('updated README.md')
}
