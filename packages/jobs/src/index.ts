export {
  claimJobLease,
  type JobLease,
  type JobLeaseOptions,
  type LeasedJobColumns,
  releasedForRetry,
} from './lease'
export { integerSetting, workerNice } from './priority'
export {
  addJobInTransaction,
  addJobsInTransaction,
  type JobQueue,
  type JobSpec,
  jobQueue,
  type NoQueue,
  type TransactionJob,
} from './queue'
export { QUEUE_SCHEMA, recoverDeadWorkers } from './recovery'
export type { DomainJobs, JobsContext } from './registry'
export {
  type JobHelpers,
  JobInterruptedError,
  type RunningWorker,
  startWorker,
  type TaskHandler,
  validateCrontab,
  type WorkerOptions,
} from './worker'
