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
