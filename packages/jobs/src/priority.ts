import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import type { Logger } from '@pm/service-kit'

/** An integer setting of the environment within [min, max]; `fallback` when unset, an Error naming it otherwise. */
export function integerSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  o: { fallback: number; min: number; max: number; hint?: string },
): number {
  const raw = env[name]?.trim()
  if (!raw) return o.fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < o.min || value > o.max)
    throw new Error(
      `${name} must be an integer from ${o.min} to ${o.max}${o.hint ? ` (${o.hint})` : ''}, got "${raw}"`,
    )
  return value
}

/**
 * WORKER_NICE: the CPU priority of a worker running in a process of its own (`pm worker`), as a Unix nice
 * value from 0 (normal) to 19 (lowest); `fallback` (the domain's default) when unset.
 */
export function workerNice(env: NodeJS.ProcessEnv, fallback: number): number {
  return integerSetting(env, 'WORKER_NICE', {
    fallback,
    min: 0,
    max: 19,
    hint: '0 is normal priority, 19 the lowest',
  })
}

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
 * a worker alone, never in one that also serves the API (`pnpm start`). A priority that cannot be set (raising
 * it back needs privileges) is logged, not fatal. Returns the main thread's nice value afterwards.
 */
export function lowerProcessPriority(nice: number, logger: Logger): number {
  const current = getPriority(0)
  if (nice === current) return current
  if (nice < current) {
    logger.warn('WORKER_NICE is below the nice value this process started with: left as it is', {
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
  if (now !== nice) logger.warn('could not lower the worker process priority', { nice, now, failed })
  return now
}
