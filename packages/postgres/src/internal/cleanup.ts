import type { Runner, Statement } from './client.js'
import { integer } from './values.js'

/** Batches one scheduled cleanup run deletes at most, so a run over a huge backlog still ends. */
export const BATCHES_PER_RUN = 100

/**
 * Deletes expired rows in batches of `limit`, each one statement and its own transaction, until
 * a batch comes back short or `BATCHES_PER_RUN` batches ran. Returns how many rows went.
 */
export async function runCleanup(
  run: Runner,
  statement: Statement,
  now: () => number,
  limit: number,
  batches = BATCHES_PER_RUN,
): Promise<number> {
  let total = 0
  for (let i = 0; i < batches; i++) {
    const [row] = await run(statement, [now(), limit])
    const deleted = integer(row?.n) ?? 0
    total += deleted
    if (deleted < limit) break
  }
  return total
}

/**
 * Runs `task` every `seconds` (0: never), each wait drawn between half and one and a half times
 * the interval, so instances started together spread out. The timer never keeps a process alive.
 */
export function schedule(seconds: number, task: () => Promise<unknown>): () => void {
  if (seconds === 0) return () => {}
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false
  const next = () => {
    if (stopped) return
    timer = setTimeout(
      () => {
        void task().finally(next)
      },
      seconds * 1000 * (0.5 + Math.random()),
    )
    ;(timer as { unref?: () => void }).unref?.()
  }
  next()
  return () => {
    stopped = true
    clearTimeout(timer)
  }
}
