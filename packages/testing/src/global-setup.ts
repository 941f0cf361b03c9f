import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { databaseUrl, loadDatabaseConfig, prepareDatabases } from '@pm/db'
import type { TestProject } from 'vitest/node'
import type {} from './index'
import { freePort } from './ports'

/** TEST_DATABASE_URL when set (CI: the machine's PostgreSQL 15), else an embedded server for this run. */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL?.trim()
  if (url) {
    project.provide('testServerUrl', url)
    return
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pm-test-pg-'))
  // The embedded default of the one database start-up, on a data folder and port of this run's own; each
  // test creates and migrates the databases it uses.
  const prepared = await prepareDatabases({
    config: loadDatabaseConfig({ EMBEDDED_PG_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) }),
    migrate: false,
  })
  project.provide('testServerUrl', databaseUrl(prepared.domains.core.url, 'postgres'))
  return async () => {
    await prepared.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
