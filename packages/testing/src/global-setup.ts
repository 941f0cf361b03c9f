import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EmbeddedServer, startEmbeddedPostgres } from '@pm/db'
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
  const server: EmbeddedServer = await startEmbeddedPostgres({ dataDir, port: await freePort() })
  project.provide('testServerUrl', server.url)
  return async () => {
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
