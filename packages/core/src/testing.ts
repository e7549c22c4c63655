/** Helpers for tests of apps and adapters: a controllable clock. */
export interface TestClock {
  (): number
  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void
  set(ms: number): void
}

export function createTestClock(start = Date.UTC(2030, 0, 1)): TestClock {
  let now = start
  const clock = (() => now) as TestClock
  clock.advance = (seconds) => {
    now += seconds * 1000
  }
  clock.set = (ms) => {
    now = ms
  }
  return clock
}
