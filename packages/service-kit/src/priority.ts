import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import type { Logger } from './logger'

/** This process's threads: Linux keeps a nice value per thread (/proc/self/task), elsewhere the process. */
function threads(): number[] {
  try {
    return readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => Number.isInteger(tid) && tid > 0)
  } catch {
    return [0]
  }
}

/**
 * Lowers the CPU priority of this whole process to `nice`, so that the API's processes on the same cores are
 * served first and the worker takes the CPU they leave. On Linux the nice value is per thread and a new thread
 * inherits its creator's: every thread running now is set (V8's, libuv's pool if already started), and the
 * ones started later (libuv's pool, libvips' workers) inherit it. Call it at the start of a process that runs
 * a worker alone (WORKER_NICE) or a subgraph instance that takes background traffic only (SUBGRAPH_NICE), never
 * in one that also serves the API's callers (`pnpm start`). A priority that cannot be set (raising
 * it back needs privileges) is logged, not fatal. Returns the main thread's nice value afterwards.
 */
export function lowerProcessPriority(nice: number, logger: Logger): number {
  const current = getPriority(0)
  if (nice === current) return current
  if (nice < current) {
    logger.warn('the nice value asked for is below the one this process started with: left as it is', {
      nice,
      current,
    })
    return current
  }
  let failed = 0
  for (const tid of threads()) {
    try {
      setPriority(tid, nice)
    } catch {
      // A thread that ended meanwhile.
      failed++
    }
  }
  const now = getPriority(0)
  if (now !== nice) logger.warn('could not lower the process priority', { nice, now, failed })
  return now
}
