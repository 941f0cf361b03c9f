import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEMO_PASSWORD } from '@pm/seed'
import { freePort } from '@pm/testing'
import { postGraphQL } from '@pm/testing/subgraph'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = new URL('../../../', import.meta.url).pathname
const DOMAINS = ['CORE', 'CATALOG', 'IMPORTS', 'EXPORTS', 'MEDIA', 'CODE2ASIN', 'ANALYTICS']

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
    socket.connect(port, '127.0.0.1')
  })
}

const dir = mkdtempSync(join(tmpdir(), 'pm-start-'))
chmodSync(dir, 0o755) // the embedded server runs as the postgres user when we are root
let env: NodeJS.ProcessEnv
let child: ChildProcess | undefined

/**
 * `pnpm start` in a process of its own, resolved once it has printed its summary and the gateway answers
 * /ready on its admin listener (no time limit of its own: a loaded machine only makes it slower; it fails
 * when the process exits).
 */
async function startStack(adminPort: number): Promise<{ output: () => string }> {
  let output = ''
  child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['apps/pm/src/main.ts', 'start'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d) => {
    output += d
  })
  child.stderr!.on('data', (d) => {
    output += d
  })
  let exited = false
  const exit = new Promise<never>((_, reject) =>
    child!.once('exit', (code) => {
      exited = true
      reject(new Error(`start exited with ${code}:\n${output}`))
    }),
  )
  const ready = async () => {
    while (!exited) {
      if (output.includes('Ctrl-C stops everything')) {
        const res = await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => undefined)
        await res?.body?.cancel()
        if (res?.ok) return
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  await Promise.race([exit, ready()])
  return { output: () => output }
}

/** Signs in as the demo administrator: the headers of an authenticated request. */
async function signIn(gateway: string): Promise<Record<string, string>> {
  const res = await postGraphQL(
    gateway,
    'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email: 'admin@demo.products-manager.fr', password: DEMO_PASSWORD },
  )
  expect(res.errors).toBeUndefined()
  return { authorization: `Bearer ${res.data.login.accessToken}` }
}

async function interrupt(): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)))
  child!.kill('SIGINT')
  return exited
}

afterAll(async () => {
  if (child && child.exitCode === null) await interrupt()
  rmSync(dir, { recursive: true, force: true })
})

describe('pnpm start on the embedded default', () => {
  it('starts everything, serves demo data through the gateway, stops on Ctrl-C, keeps data on restart', async () => {
    const ports = await Promise.all(Array.from({ length: 10 }, freePort))
    env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' }
    env.EMBEDDED_PG_DATA_DIR = join(dir, 'pg')
    env.EMBEDDED_PG_PORT = String(ports[0])
    env.GATEWAY_PORT = String(ports[1])
    env.GATEWAY_ADMIN_PORT = String(ports[9])
    DOMAINS.forEach((d, i) => {
      env[`SUBGRAPH_${d}_PORT`] = String(ports[i + 2])
      env[`SUBGRAPH_${d}_ADMIN_PORT`] = '0'
    })
    const gateway = `http://127.0.0.1:${ports[1]}/graphql`

    const first = await startStack(ports[9]!)
    expect(first.output()).toContain('demo data seeded')
    expect(first.output()).toContain(gateway)
    const query = `{ products(first: 3) { totalCount edges { node { id title supplier { code }
      primaryImage { id } bestAsinMatch { asin } } } } }`
    const res = await postGraphQL(gateway, query, undefined, await signIn(gateway))
    expect(res.errors).toBeUndefined()
    expect(res.data.products.totalCount).toBe(1000)
    expect(res.data.products.edges).toHaveLength(3)
    expect(await interrupt()).toBe(0)
    expect(await portOpen(ports[0]!)).toBe(false)
    expect(await portOpen(ports[1]!)).toBe(false)

    const second = await startStack(ports[9]!)
    expect(second.output()).not.toContain('demo data seeded')
    // Secrets generated per run: a new sign-in (the old token was signed with the last run's).
    const again = await postGraphQL(
      gateway,
      '{ products(first: 1) { totalCount } }',
      undefined,
      await signIn(gateway),
    )
    expect(again.data.products.totalCount).toBe(1000)
    expect(await interrupt()).toBe(0)
    // Seven databases, eight services and six workers from one process, twice: readiness is waited on, the
    // bound is the suite's own (a loaded 2-core machine only makes it slower).
  }, 600_000)
})
