/** Turning runs into the table, the goals, the crypto and soak tables, and the SVG chart. */

import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const KIND_LABEL = {
  bare: 'bare (no session middleware)',
  floor: 'an empty middleware (the floor)',
  'bare-cookie': 'bare, request carries a session-sized cookie',
  untouched: 'untouched route (no cookie)',
  read: 'read (valid cookie, unchanged)',
  write: 'write (new Set-Cookie)',
  contention: 'contention (one session on every connection, every request a write)',
}

export const median = (values) => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const int = (n) => (n === undefined ? '–' : Math.round(n).toLocaleString('en-US'))
const ratio = (r) => (r === undefined ? '–' : r.toFixed(2))

/** Medians and ratios to the same framework's bare median (same run). */
export function summarize(scenarios) {
  const bare = new Map()
  for (const s of scenarios) {
    s.median = median(s.runs.map((r) => r.rps))
    s.min = s.runs.length ? Math.min(...s.runs.map((r) => r.rps)) : undefined
    s.max = s.runs.length ? Math.max(...s.runs.map((r) => r.rps)) : undefined
    s.serverCpu = median(s.runs.map((r) => r.serverCpu).filter((v) => v !== undefined))
    s.loadgenCpu = median(s.runs.map((r) => r.loadgenCpu))
    s.p99 = median(s.runs.map((r) => r.p99))
    // Requests per CPU-second of the server: steadier than req/s when other work shares the core.
    s.perCpu = median(s.runs.filter((r) => r.serverCpu > 0).map((r) => r.rps / r.serverCpu))
    if (s.kind === 'bare' && s.median !== undefined) bare.set(s.framework, s)
  }
  for (const s of scenarios) {
    const b = bare.get(s.framework)
    if (!b) continue
    s.ratio = paired(s, b, (r) => r.rps) ?? (s.median !== undefined ? s.median / b.median : undefined)
    s.ratioPerCpu =
      paired(s, b, (r) => (r.serverCpu > 0 ? r.rps / r.serverCpu : undefined)) ??
      (s.perCpu !== undefined && b.perCpu ? s.perCpu / b.perCpu : undefined)
  }
  return scenarios
}

/**
 * The median, over the rounds, of a scenario's figure divided by its framework's bare figure from
 * the same round. Each round runs a framework's scenarios close together, so a machine that slows
 * down or speeds up between rounds (a shared VM does) moves both sides of each ratio alike.
 */
function paired(s, bare, figure) {
  const ratios = []
  for (const run of s.runs) {
    const base = bare.runs.find((r) => r.round === run.round)
    const a = figure(run)
    const b = base && figure(base)
    if (a > 0 && b > 0) ratios.push(a / b)
  }
  return median(ratios)
}

/**
 * The contention scenarios: server CPU per request against the same framework's bare route in the
 * same round, p99 latency and failed requests, as issue-style figures for parallel writes.
 */
const perRequest = (r) => (r.serverCpu > 0 && r.rps > 0 ? (r.serverCpu / r.rps) * 1e6 : undefined)

/** A scenario's server CPU µs per request, the median over its rounds. */
function cpuPerRequest(s) {
  return median(s.runs.map(perRequest).filter((v) => v !== undefined))
}

export function contentionTable(scenarios) {
  const bare = new Map(scenarios.filter((s) => s.kind === 'bare').map((s) => [s.framework, s]))
  const rows = scenarios.filter((s) => s.kind === 'contention' && s.runs.length)
  if (!rows.length) return undefined
  const lines = [
    '| framework | library | median req/s | server CPU µs per request | +µs over bare | bare / write (per CPU) | p99 ms | non-2xx (all rounds) |',
    '|---|---|--:|--:|--:|--:|--:|--:|',
  ]
  for (const s of rows) {
    const b = bare.get(s.framework)
    const extra = median(
      s.runs
        .map((run) => {
          const base = b?.runs.find((r) => r.round === run.round)
          const a = perRequest(run)
          const c = base && perRequest(base)
          return a !== undefined && c !== undefined ? a - c : undefined
        })
        .filter((v) => v !== undefined),
    )
    const own = cpuPerRequest(s)
    const non2xx = s.runs.reduce((sum, r) => sum + (r.non2xx ?? 0), 0)
    lines.push(
      `| ${s.frameworkLabel} | ${s.libraryLabel} | ${int(s.median)} | ${int(own)} | ${extra === undefined ? '–' : `+${int(extra)}`} | ${ratio(s.ratioPerCpu)} | ${int(s.p99)} | ${non2xx} |`,
    )
  }
  return lines.join('\n')
}

export function markdownTable(scenarios) {
  const lines = [
    '| framework | library | scenario | median req/s | ratio to bare | rounds min–max req/s | ratio per server CPU-s |',
    '|---|---|---|--:|--:|--:|--:|',
  ]
  for (const s of scenarios) {
    let value = int(s.median)
    let r = ratio(s.ratio)
    let rc = ratio(s.ratioPerCpu)
    if (s.failed) {
      value = 'FAILED'
      r = '–'
      rc = '–'
    } else if (!s.measured) {
      value = 'verified only'
      r = '–'
      rc = '–'
    }
    const spread = s.runs.length > 1 ? `${int(s.min)}–${int(s.max)}` : s.runs.length === 1 ? int(s.min) : '–'
    lines.push(
      `| ${s.frameworkLabel} | ${s.libraryLabel} | ${KIND_LABEL[s.kind]} | ${value} | ${r} | ${spread} | ${rc} |`,
    )
  }
  return lines.join('\n')
}

/** The speed goals, each measured in this run. Reported, never asserted. */
export function goals(scenarios, crypto, cookieBytes) {
  const out = []
  if (cookieBytes !== undefined)
    out.push({
      goal: 'cookie of a one-number session ≤ 250 B (name + value)',
      where: 'cookie store, default options',
      measured: `${cookieBytes} B`,
      target: '≤ 250 B',
      met: cookieBytes <= 250,
    })
  const find = (fw, lib, store, kind) =>
    scenarios.find(
      (s) =>
        s.framework === fw && s.library === lib && (store === '*' || s.store === store) && s.kind === kind,
    )
  const frameworks = [...new Set(scenarios.map((s) => s.framework))]
  const ours = scenarios.filter((s) => s.library === 'x-session' && s.ratio !== undefined)
  for (const s of ours.filter((s) => s.kind === 'untouched')) {
    // What the framework itself charges for one middleware that does nothing, for comparison.
    const floor = find(s.framework, 'floor', '*', 'floor')?.ratio
    const where = `${s.frameworkLabel}, ${s.storeLabel}${floor === undefined ? '' : ` (empty middleware: ${floor.toFixed(2)})`}`
    out.push(goal('untouched route ≥ 0.97 of bare', where, s.ratio, 0.97))
  }
  for (const s of ours.filter((s) => s.kind === 'read')) {
    // What receiving a cookie of that size costs the bare framework, for comparison.
    const carried = find(s.framework, 'bare', '*', 'bare-cookie')?.ratio
    const where = `${s.frameworkLabel}, ${s.storeLabel}${carried === undefined ? '' : ` (bare with such a cookie: ${carried.toFixed(2)})`}`
    out.push(goal('read ≥ 0.90 of bare', where, s.ratio, 0.9))
  }
  for (const fw of frameworks) {
    const peers = scenarios.filter(
      (s) => s.framework === fw && s.kind === 'write' && s.peer && s.ratio !== undefined,
    )
    const mine = find(fw, 'x-session', 'cookie', 'write')
    if (peers.length && mine?.ratio !== undefined) {
      const best = peers.reduce((a, b) => (b.ratio > a.ratio ? b : a))
      out.push(
        goal(
          'cookie-store write ≥ best peer write',
          `${mine.frameworkLabel} (best: ${best.libraryLabel})`,
          mine.ratio,
          best.ratio,
        ),
      )
    }
    const memoryPeer = scenarios.find(
      (s) =>
        s.framework === fw &&
        s.kind === 'write' &&
        (s.library === 'express-session' || s.library === '@fastify/session') &&
        s.ratio !== undefined,
    )
    const myMemory = find(fw, 'x-session', 'memory', 'write')
    if (memoryPeer && myMemory?.ratio !== undefined) {
      out.push(
        goal(
          'memory-store write ≥ memory peer',
          `${myMemory.frameworkLabel} (vs ${memoryPeer.libraryLabel})`,
          myMemory.ratio,
          memoryPeer.ratio,
        ),
      )
    }
  }
  for (const fw of frameworks) {
    // A server store read needs no crypto: it should cost what a cookie-store read does.
    const cookieRead = find(fw, 'x-session', 'cookie', 'read')
    const memoryRead = find(fw, 'x-session', 'memory', 'read')
    if (cookieRead?.ratio !== undefined && memoryRead?.ratio !== undefined)
      out.push(
        goal(
          'memory-store read within 5% of cookie-store read',
          memoryRead.frameworkLabel,
          memoryRead.ratio,
          0.95 * cookieRead.ratio,
        ),
      )
    // Judged with and without `strict`: a strict read waits for a PING to Redis, so it is bound by
    // that round trip; without it, by nothing but this process (the window is measured apart).
    for (const [store, label] of [
      ['redis-near', 'strict'],
      ['redis-near-loose', 'strict: false'],
    ]) {
      const nearRead = find(fw, 'x-session', store, 'read')
      if (nearRead?.ratio !== undefined)
        out.push(
          goal(
            `Redis read (near cache, ${label}) ≥ 0.80 of bare`,
            nearRead.frameworkLabel,
            nearRead.ratio,
            0.8,
          ),
        )
    }
    // Parallel writes of one session: no more server CPU than the peer on the same Redis, p99
    // within 1.5 times the peer's, and no failed request.
    const mine = find(fw, 'x-session', 'redis', 'contention')
    const peer = scenarios.find(
      (s) => s.framework === fw && s.kind === 'contention' && s.peer && s.store === 'redis',
    )
    const own = mine && cpuPerRequest(mine)
    const theirs = peer && cpuPerRequest(peer)
    if (own !== undefined && theirs !== undefined) {
      const where = `${mine.frameworkLabel} (vs ${peer.libraryLabel})`
      out.push({
        goal: 'contention: Redis write CPU ≤ peer',
        where,
        measured: `${Math.round(own)} µs`,
        target: `≤ ${Math.round(theirs)} µs`,
        met: own <= theirs,
      })
      if (mine.p99 !== undefined && peer.p99 !== undefined)
        out.push({
          goal: 'contention: p99 ≤ 1.5 × peer',
          where,
          measured: `${mine.p99.toFixed(1)} ms`,
          target: `≤ ${(1.5 * peer.p99).toFixed(1)} ms`,
          met: mine.p99 <= 1.5 * peer.p99,
        })
      const failed = mine.runs.reduce((sum, r) => sum + (r.non2xx ?? 0), 0)
      out.push({
        goal: 'contention: no non-2xx',
        where,
        measured: String(failed),
        target: '0',
        met: failed === 0,
      })
    }
  }
  if (crypto) {
    for (const size of ['200 B', '3 KB']) {
      for (const op of ['seal', 'unseal']) {
        const mine = crypto.results.find(
          (r) => r.implementation === 'this project (core sealer)' && r.size === size && r.op === op,
        )
        const floor = crypto.results.find(
          (r) => r.implementation === 'node:crypto lower bound' && r.size === size && r.op === op,
        )
        if (mine && floor) {
          out.push({
            goal: `${op} ≤ 3 × node:crypto`,
            where: size,
            measured: `${mine.us.toFixed(1)} µs (${(mine.us / floor.us).toFixed(1)} ×)`,
            target: `≤ ${(3 * floor.us).toFixed(1)} µs`,
            met: mine.us <= 3 * floor.us,
          })
        }
      }
    }
  }
  return out
}

function goal(name, where, measured, target) {
  return {
    goal: name,
    where,
    measured: measured.toFixed(2),
    target: `≥ ${target.toFixed(2)}`,
    met: measured >= target,
  }
}

export function goalsTable(list) {
  const lines = ['| goal | where | measured | target | met |', '|---|---|--:|--:|:-:|']
  for (const g of list)
    lines.push(`| ${g.goal} | ${g.where} | ${g.measured} | ${g.target} | ${g.met ? 'yes' : '**no**'} |`)
  return lines.join('\n')
}

export function cryptoTable(crypto) {
  const floor = (size, op) =>
    crypto.results.find(
      (r) => r.implementation === 'node:crypto lower bound' && r.size === size && r.op === op,
    )
  const names = [...new Set(crypto.results.map((r) => r.implementation))]
  const lines = [
    '| implementation | 200 B seal µs | 200 B unseal µs | 3 KB seal µs | 3 KB unseal µs |',
    '|---|--:|--:|--:|--:|',
  ]
  for (const name of names) {
    const cells = []
    for (const size of ['200 B', '3 KB']) {
      for (const op of ['seal', 'unseal']) {
        const r = crypto.results.find((x) => x.implementation === name && x.size === size && x.op === op)
        const f = floor(size, op)
        cells.push(r ? `${r.us.toFixed(1)} (${(r.us / f.us).toFixed(1)} ×)` : '–')
      }
    }
    lines.push(`| ${name} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

export function soakTable(soak) {
  const lines = [
    '| run | sessions | bound | store size at end | heap after GC (first → last checkpoint) | oldest 200 sessions | newest 200 sessions | time |',
    '|---|--:|---|--:|---|---|---|--:|',
  ]
  for (const r of soak.runs) {
    const bound = Object.entries(r.bound)
      .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
      .join(', ')
    const first = r.checkpoints[0]
    const last = r.checkpoints[r.checkpoints.length - 1]
    const probe = (p) => `${p.found}/${p.of} found, load ${p.medianLoadUs} µs`
    lines.push(
      `| ${r.label} | ${r.sessions.toLocaleString('en-US')} | ${bound} | ${r.storeSizeAtEnd?.toLocaleString('en-US') ?? '–'} | ${first.heapUsedMB} MB → ${last.heapUsedMB} MB | ${probe(r.oldest)} | ${probe(r.newest)} | ${r.seconds} s |`,
    )
  }
  lines.push('', `Peak RSS of the soak process (both runs): **${soak.peakRssMB} MB**.`)
  return lines.join('\n')
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * A horizontal bar chart of ratios to bare, grouped by framework; plain SVG. The bar is the req/s
 * ratio; the black tick on it is the same ratio per server CPU-second.
 */
export function svgChart(scenarios, title) {
  const rows = scenarios.filter((s) => s.kind !== 'bare' && s.ratio !== undefined)
  const frameworks = [...new Set(rows.map((s) => s.frameworkLabel))]
  const labelW = 400
  const barW = 440
  const rowH = 18
  const max = Math.max(1.1, ...rows.map((s) => Math.max(s.ratio, s.ratioPerCpu ?? 0)))
  const x = (r) => labelW + (r / max) * barW
  const top = 86
  let y = top
  const parts = []
  for (const fw of frameworks) {
    parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(fw)}</text>`)
    y += 22
    for (const s of rows.filter((r) => r.frameworkLabel === fw)) {
      const color = s.peer
        ? '#9ca3af'
        : ({ cookie: '#2563eb', memory: '#16a34a', redis: '#dc2626', postgres: '#7c3aed' }[s.store] ??
          '#4b5563')
      parts.push(
        `<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(`${s.libraryLabel} · ${s.kind}`)}</text>`,
        `<rect x="${labelW}" y="${y + 3}" width="${(x(s.ratio) - labelW).toFixed(1)}" height="${rowH - 6}" fill="${color}"/>`,
      )
      if (s.ratioPerCpu !== undefined) {
        parts.push(
          `<rect x="${(x(s.ratioPerCpu) - 1).toFixed(1)}" y="${y + 1}" width="2" height="${rowH - 2}" fill="#111827"/>`,
        )
      }
      const end = Math.max(x(s.ratio), s.ratioPerCpu === undefined ? 0 : x(s.ratioPerCpu) + 1)
      parts.push(
        `<text x="${(end + 4).toFixed(1)}" y="${y + 13}">${s.ratio.toFixed(2)}${s.ratioPerCpu === undefined ? '' : ` (${s.ratioPerCpu.toFixed(2)})`}</text>`,
      )
      y += rowH
    }
    y += 8
  }
  const height = y + 12
  const guide = (r, color, label, anchor, dx, labelY) =>
    `<line x1="${x(r).toFixed(1)}" y1="${top - 6}" x2="${x(r).toFixed(1)}" y2="${height - 8}" stroke="${color}"${r === 1 ? '' : ' stroke-dasharray="4 3"'}/>` +
    `<text x="${(x(r) + dx).toFixed(1)}" y="${labelY}" text-anchor="${anchor}" fill="${color}">${label}</text>`
  const guides = [
    guide(1, '#111827', 'bare 1.00', 'start', 3, top - 8),
    guide(0.97, '#6b7280', '0.97', 'end', -3, top - 8),
    guide(0.9, '#6b7280', '0.90', 'end', -3, top - 20),
  ].join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 110}" height="${height}" font-family="system-ui, sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>
<text x="10" y="36" fill="#6b7280">Bars: median req/s as a share of the same framework's bare median (blue cookie store, green memory store, red Redis store, purple PostgreSQL store, grey peers).</text>
<text x="10" y="50" fill="#6b7280">Black tick and value in brackets: the same ratio per server CPU-second, steadier when other work shares the machine.</text>
${guides}
${parts.join('\n')}
</svg>
`
}

const fmtTime = (s) =>
  s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`

/** The whole report as markdown, from what results/*.json holds. */
export function renderMarkdown({ meta, scenarios, goals: goalList, crypto, soak }) {
  const md = [`# @x/session bench: ${meta.date.slice(0, 10)} (${meta.mode})`, '']
  md.push(
    `Node ${meta.node}, ${meta.cores} × ${meta.cpu}; ${meta.pinned ? meta.pinning : `unpinned (${meta.pinning})`}; ` +
      `autocannon ${meta.versions.autocannon}, ${meta.connections} connections; ${meta.rounds} interleaved round(s) of ` +
      `${meta.warmupLabel} warm-up + ${meta.durationSeconds} s; ` +
      `load average ${meta.loadavgAtStart.join(' ')} at start, ${meta.loadavgAtEnd.join(' ')} at end. ` +
      `Ran in ${fmtTime(meta.seconds)}${meta.redisSkipped ? `; Redis store skipped: ${meta.redisSkipped}` : ''}${meta.postgresSkipped ? `; PostgreSQL store skipped: ${meta.postgresSkipped}` : ''}.`,
    '',
  )
  if (scenarios.length) {
    md.push(
      '## Requests per second (median of the rounds) and ratio to bare',
      '',
      markdownTable(scenarios),
      '',
    )
  }
  const contention = scenarios.length ? contentionTable(scenarios) : undefined
  if (contention) {
    md.push('## Parallel writes of one session (contention)', '', contention, '')
  }
  if (goalList.length) {
    md.push('## Speed goals (measured in this run; reported, not asserted)', '', goalsTable(goalList), '')
  }
  if (crypto) {
    md.push(
      '## Crypto: µs per operation (median of batches), × the node:crypto lower bound',
      '',
      cryptoTable(crypto),
      '',
      `This project's sealer came from ${crypto.results[0].note}.`,
      '',
    )
  }
  if (soak) md.push('## Memory soak', '', soakTable(soak), '')
  return md.join('\n')
}

/** The README shows the latest full run between its markers; true when it was updated. */
/** The whole markdown of a run: the tables, then how cost grows when the run measured it. */
export function fullMarkdown(report) {
  const markdown = renderMarkdown(report)
  return report.growth?.markdown ? `${markdown}\n\n${report.growth.markdown}` : markdown
}

/**
 * Puts a full run where readers find it: the bench README and the docs site's benchmark page (the
 * section between the markers; the site copies the chart itself when it is built). Returns the
 * files it updated.
 */
export function publishFullRun(benchDir, markdown) {
  return [join(benchDir, 'README.md'), join(benchDir, '..', 'docs', 'benchmark.md')].filter((file) =>
    updateReadme(file, markdown),
  )
}

export function updateReadme(file, markdown) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return false
  }
  const start = '<!-- latest-full-run:start -->'
  const end = '<!-- latest-full-run:end -->'
  const a = text.indexOf(start)
  const b = text.indexOf(end)
  if (a === -1 || b === -1) return false
  const body = markdown.replace(/^# .*\n/, '').replace(/^## /gm, '### ')
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${body}\n${text.slice(b)}`)
  return true
}
