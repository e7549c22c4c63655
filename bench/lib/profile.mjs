import { readFileSync } from 'node:fs'

/** Where a frame's code lives: a package name, this repo's package, node internals, or the program. */
function owner(url) {
  if (!url) return '(native / VM)'
  if (url.startsWith('node:')) return 'node internals'
  const pnpm = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (pnpm) return pnpm[1]
  const workspace = url.match(/\/packages\/([^/]+)\/(?:dist|src)\//)
  if (workspace) return `@x/session-${workspace[1]} (this repo)`
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (nm) return nm[1]
  if (url.includes('/bench/')) return 'bench app'
  return url
}

const short = (url) =>
  url ? url.replace(/^file:\/\/.*?(node_modules\/\.pnpm\/[^/]+\/node_modules\/|\/work\/main\/)/, '') : ''

/** Self time by function and by owner, from a .cpuprofile written by `node --cpu-prof`. */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const self = new Map()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  // Shares are of busy time: the idle samples (waiting for the next request) are left out.
  let idle = 0
  for (const node of profile.nodes)
    if (node.callFrame.functionName === '(idle)') idle += self.get(node.id) ?? 0
  const all = [...self.values()].reduce((a, b) => a + b, 0)
  const total = all - idle
  const byFunction = new Map()
  const byOwner = new Map()
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0
    if (t === 0 || node.callFrame.functionName === '(idle)') continue
    const { functionName, url, lineNumber } = node.callFrame
    const key = `${functionName || '(anonymous)'}  ${short(url)}${url ? `:${lineNumber + 1}` : ''}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + t)
    const o = owner(url)
    byOwner.set(o, (byOwner.get(o) ?? 0) + t)
  }
  const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)} %`
  const lines = [
    `busy ${((100 * total) / all).toFixed(0)} % of the profile; shares below are of busy time`,
    'self time by owner:',
  ]
  for (const [k, t] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`  ${pct(t)}  ${k}`)
  lines.push(`top ${top} functions by self time:`)
  for (const [k, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${pct(t)}  ${k}`)
  return lines.join('\n')
}
