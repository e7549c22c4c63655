import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'

const benchDir = fileURLToPath(new URL('..', import.meta.url))

/**
 * CPU pinning: servers on core 0, this process (the load generator) on core 1, so the two never
 * compete for a core. Needs `taskset` and two cores; otherwise everything runs unpinned (said so).
 */
export function setupPinning() {
  if (availableParallelism() < 2) return { enabled: false, reason: 'fewer than 2 cores' }
  const probe = spawnSync('taskset', ['-c', '0', 'true'])
  if (probe.error || probe.status !== 0) return { enabled: false, reason: 'taskset not available' }
  const self = spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)])
  if (self.status !== 0) return { enabled: false, reason: `taskset -p failed: ${String(self.stderr).trim()}` }
  return { enabled: true, reason: 'servers on core 0 (taskset -c 0), load generator on core 1' }
}

/** Runs `node <script> ...args` pinned to `core` when pinning is on. */
export function spawnNode(pinning, core, nodeArgs, script, args, options) {
  const argv = [...nodeArgs, script, ...args]
  return pinning.enabled
    ? spawn('taskset', ['-c', String(core), process.execPath, ...argv], options)
    : spawn(process.execPath, argv, options)
}

/** Starts one benchmark server; resolves once it prints its port. */
export function startServer(pinning, spec, { nodeArgs = [], timeoutMs = 20_000 } = {}) {
  const child = spawnNode(pinning, 0, nodeArgs, `${benchDir}server.mjs`, [JSON.stringify(spec)], {
    cwd: benchDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000)
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return new Promise((resolve, reject) => {
    let out = ''
    let ready = false
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`server did not start within ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    void exited.then(({ code, signal }) => {
      if (ready) return
      clearTimeout(timer)
      reject(new Error(`server exited before listening (code ${code}, signal ${signal})\n${stderr}`))
    })
    child.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n').find((l) => l.startsWith('READY '))
      if (!line || ready) return
      ready = true
      clearTimeout(timer)
      const { port, pid } = JSON.parse(line.slice(6))
      resolve({
        port,
        pid,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
          await exited
          clearTimeout(killer)
        },
      })
    })
  })
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is none. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name; ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** Runs a node script to completion (pinned), streaming its stderr (progress) and returning its stdout. */
export function runNodeScript(pinning, core, nodeArgs, script, args) {
  return new Promise((resolve, reject) => {
    const child = spawnNode(pinning, core, nodeArgs, `${benchDir}${script}`, args, {
      cwd: benchDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} exited with code ${code}`)),
    )
  })
}
