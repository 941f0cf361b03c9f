/**
 * Regenerates src/generated/<domain>.ts: migrates a scratch database per domain on
 * TEST_DATABASE_URL (or DATABASE_URL) and introspects it. The drift test runs the same generation.
 */
import { writeFileSync } from 'node:fs'
import pg from 'pg'
import { DOMAINS, databaseUrl, runMigrations } from '../src'
import { GENERATED_DIR, generateTypes } from '../src/codegen'

const server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL
if (!server) {
  console.error('set TEST_DATABASE_URL (or DATABASE_URL) to a server where scratch databases may be created')
  process.exit(2)
}
const admin = new pg.Client({ connectionString: databaseUrl(server, 'postgres') })
await admin.connect()
try {
  for (const domain of DOMAINS) {
    const name = `codegen_${domain}_${process.pid}`
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
    try {
      const url = databaseUrl(server, name)
      await runMigrations({ connectionString: url, domain, direction: 'up' })
      writeFileSync(`${GENERATED_DIR}${domain}.ts`, await generateTypes(domain, url))
      console.log(`${domain}: src/generated/${domain}.ts`)
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
    }
  }
} finally {
  await admin.end()
}
