/**
 * A page's latency while something else runs: one request at a time (a person browsing), timed, while the
 * work under test runs; and the same page idle, to compare with. Used by the scenarios whose targets read
 * "the product page's p95 stays within 2× of idle meanwhile".
 */

/** The value at the 95th percentile of `samples` (0 when empty). */
export function p95(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0
}

/** Times `page` (one request) `count` times in a row: milliseconds each. */
export async function timeIdle(page: () => Promise<void>, count: number): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < count; i++) samples.push(await timeOne(page))
  return samples
}

/**
 * Times `page` again and again, `pauseMs` apart, until `work` settles; returns the work's value and the
 * samples. A failing page request fails the probe (the work is still awaited, so nothing is left running).
 */
export async function timeDuring<T>(
  page: () => Promise<void>,
  work: Promise<T>,
  pauseMs = 50,
): Promise<{ value: T; samples: number[] }> {
  let settled = false
  const done = work.finally(() => {
    settled = true
  })
  const samples: number[] = []
  const probe = (async () => {
    while (!settled) {
      samples.push(await timeOne(page))
      if (!settled) await new Promise((r) => setTimeout(r, pauseMs))
    }
  })()
  const [value, probed] = await Promise.allSettled([done, probe])
  if (value.status === 'rejected') throw value.reason
  if (probed.status === 'rejected') throw probed.reason
  return { value: value.value, samples }
}

async function timeOne(page: () => Promise<void>): Promise<number> {
  const start = performance.now()
  await page()
  return performance.now() - start
}
