import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../../', import.meta.url).pathname

async function nicedThreads(nice: number): Promise<{ before: number; nice: number[]; warnings: string[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'packages/service-kit/test/fixtures/niced-threads.ts', String(nice)],
    { cwd: ROOT },
  )
  return JSON.parse(stdout)
}

describe('process priority (WORKER_NICE, SUBGRAPH_NICE)', () => {
  it.runIf(existsSync('/proc/self/task'))(
    'lowers every thread of the process, those already running and those started afterwards',
    async () => {
      const out = await nicedThreads(12)
      // V8's and libuv's threads existed before: per-thread nice values, each set.
      expect(out.before).toBeGreaterThan(1)
      expect(out.nice.length).toBeGreaterThanOrEqual(out.before)
      expect(new Set(out.nice)).toEqual(new Set([12]))
      expect(out.warnings).toEqual([])
    },
  )
})
