import type { Logger } from '@pm/service-kit'
import { metricsText } from '@pm/telemetry'
import { createTestDatabase, type TestDatabase } from '@pm/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type JobQueue, jobQueue, type RunningWorker, startWorker } from '../src'

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet }

let database: TestDatabase
let queue: JobQueue
let worker: RunningWorker | undefined

beforeAll(async () => {
  database = await createTestDatabase('jobs_metrics')
  queue = jobQueue('exports', database.url)
})

afterAll(async () => {
  await worker?.stop()
  await queue?.close()
  await database?.drop()
})

function value(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}

it('counts job runs by outcome, failures, and the queue by state, for /metrics', async () => {
  const ran: string[] = []
  worker = await startWorker({
    domain: 'exports',
    connectionString: database.url,
    logger: quiet,
    pollIntervalMs: 100,
    tasks: {
      'metrics:ok': async () => {
        ran.push('ok')
      },
      'metrics:fail': async () => {
        ran.push('fail')
        throw new Error('this job fails on purpose')
      },
    },
  })
  await queue.add('metrics:ok', {})
  await queue.add('metrics:fail', {}, { maxAttempts: 1 })
  // A job due tomorrow waits in the queue.
  await queue.add('metrics:ok', {}, { runAt: new Date(Date.now() + 86_400_000) })
  await expect.poll(() => ran.length, { timeout: 60_000 }).toBe(2)
  await expect
    .poll(async () => value(await metricsText(), 'pm_job_queue_jobs', 'state="failed"'), { timeout: 60_000 })
    .toBe(1)
  const text = await metricsText()
  expect(value(text, 'pm_job_run_duration_seconds_count', 'task="metrics:ok",outcome="done"')).toBe(1)
  expect(value(text, 'pm_job_run_duration_seconds_count', 'task="metrics:fail",outcome="failed"')).toBe(1)
  expect(value(text, 'pm_job_failures_total', 'task="metrics:fail"')).toBe(1)
  expect(value(text, 'pm_job_queue_jobs', 'domain="exports",state="scheduled"')).toBe(1)
  expect(value(text, 'pm_job_queue_jobs', 'domain="exports",state="ready"')).toBe(0)
  expect(value(text, 'pm_job_queue_jobs', 'domain="exports",state="running"')).toBe(0)
})
