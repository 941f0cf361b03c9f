import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { workerNice } from '../src'

const ROOT = new URL('../../../', import.meta.url).pathname

async function nicedThreads(nice: number): Promise<{ before: number; nice: number[]; warnings: string[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'packages/jobs/test/fixtures/niced-threads.ts', String(nice)],
    { cwd: ROOT },
  )
  return JSON.parse(stdout)
}

describe('worker priority', () => {
  it('reads WORKER_NICE (0 to 19), else the domain default', () => {
    expect(workerNice({}, 10)).toBe(10)
    expect(workerNice({ WORKER_NICE: ' 0 ' }, 10)).toBe(0)
    expect(workerNice({ WORKER_NICE: '19' }, 0)).toBe(19)
    for (const bad of ['-5', '20', 'low', '2.5'])
      expect(() => workerNice({ WORKER_NICE: bad }, 0)).toThrow(/WORKER_NICE must be an integer from 0 to 19/)
  })

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
