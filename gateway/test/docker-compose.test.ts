import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { DOMAINS, type Domain, databaseName, loadDatabaseConfig } from '@pm/db'
import { adminListeners, loadSubgraphEnvironment, servicePorts } from '@pm/service-kit'
import { loadStorageConfig } from '@pm/storage'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadGatewayEnvironment } from '../src/environment'

// No Docker engine runs here: these checks read the files the way `docker compose` would.
const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

interface ComposeService {
  image?: string
  build?: { context: string; dockerfile?: string; args?: Record<string, string> }
  command?: string[]
  environment?: Record<string, string | number>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  cpu_shares?: number
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>
}
const { services } = compose
const defaults = servicePorts({})
const adminDefaults = adminListeners({})

/** What an operator sets in .env: the two required secrets. */
const SECRETS: Record<string, string> = {
  GATEWAY_SIGNING_SECRET: 's'.repeat(40),
  AUTH_TOKEN_SECRET: 't'.repeat(40),
}

/**
 * `${NAME:-default}` and `${NAME:?message}` as compose resolves them with `vars` in the environment or .env:
 * a required variable that is unset fails, with its message.
 */
function interpolate(value: string | number, vars: Record<string, string> = SECRETS): string {
  return String(value).replace(
    /\$\{(\w+)(?:(:?-|:?\?)([^}]*))?\}/g,
    (_m, name: string, operator: string | undefined, argument: string | undefined) => {
      if (vars[name] !== undefined) return vars[name]!
      if (operator?.endsWith('?')) throw new Error(`required variable ${name} is missing: ${argument}`)
      return argument ?? ''
    },
  )
}
function env(service: ComposeService, vars?: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v, vars)]),
  )
}
/** host:container pairs from the short port syntax ([ip:]host:container). */
function publishedPorts(service: ComposeService): Array<{ host: number; container: number }> {
  return (service.ports ?? []).map((entry) => {
    const parts = interpolate(entry).split(':')
    return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) }
  })
}

describe('docker-compose.yml', () => {
  it('has postgres, redis, minio, migrate, the gateway, the seven subgraphs, their workers, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'catalog-bulk',
        'catalog-bulk-2',
        'gateway',
        'migrate',
        'minio',
        'postgres',
        'redis',
        'worker-analytics',
        'worker-code2asin',
        'worker-core',
        'worker-exports',
        'worker-imports',
        'worker-media',
        'prometheus',
        'grafana',
        ...DOMAINS,
      ].sort(),
    )
    expect(services.postgres!.image).toBe('postgres:15')
    expect(services.redis!.image).toBe('redis:7')
  })

  it('builds every Node service from the root Dockerfile, running an existing entry point', () => {
    for (const [name, path] of [
      ['gateway', 'gateway'],
      ['catalog-bulk', 'subgraphs/catalog'],
      ['catalog-bulk-2', 'subgraphs/catalog'],
      ...DOMAINS.map((d) => [d, `subgraphs/${d}`]),
    ] as const) {
      const service = services[name]!
      expect(service.build?.context, name).toBe('.')
      expect(service.build?.dockerfile ?? 'Dockerfile', name).toBe('Dockerfile')
      expect(service.build?.args?.SERVICE, name).toBe(path)
      expect(existsSync(new URL(`${path}/src/main.ts`, root)), `${path}/src/main.ts`).toBe(true)
    }
  })

  it('publishes the default ports of servicePorts()', () => {
    expect(publishedPorts(services.gateway!)).toEqual([
      { host: defaults.gateway, container: defaults.gateway },
    ])
    for (const d of DOMAINS) {
      expect(publishedPorts(services[d]!), d).toEqual([{ host: defaults[d], container: defaults[d] }])
    }
  })

  it('gives each subgraph the DB_<DOMAIN>_URL that resolves to its database on the postgres service', () => {
    for (const d of DOMAINS) {
      const serviceEnv = env(services[d]!)
      expect(serviceEnv[`DB_${d.toUpperCase()}_URL`], d).toBeDefined()
      const config = loadDatabaseConfig(serviceEnv)
      expect(config.mode, d).toBe('external')
      if (config.mode !== 'external') continue
      const url = new URL(config.domains[d].url)
      expect(url.hostname, d).toBe('postgres')
      expect(url.port, d).toBe('5432')
      expect(url.pathname, d).toBe(`/${databaseName(d)}`)
      expect(serviceEnv.HOST, d).toBe('0.0.0.0')
      expect(serviceEnv.REDIS_URL, d).toBe('redis://redis:6379')
    }
    const migrateConfig = loadDatabaseConfig(env(services.migrate!))
    expect(migrateConfig.mode).toBe('external')
  })

  it('points the gateway at each subgraph service on its port', () => {
    const gatewayEnv = env(services.gateway!)
    const parsed = loadGatewayEnvironment(gatewayEnv)
    expect(parsed.host).toBe('0.0.0.0')
    expect(parsed.port).toBe(defaults.gateway)
    for (const d of DOMAINS) {
      expect(gatewayEnv[`SUBGRAPH_${d.toUpperCase()}_URL`], d).toBe(`http://${d}:${defaults[d]}/graphql`)
      expect(parsed.subgraphUrls[d]).toBe(`http://${d}:${defaults[d]}/graphql`)
    }
  })

  it('tells every subgraph and worker where its peers answer on the compose network', () => {
    const callers = Object.keys(services).filter(
      (name) =>
        (DOMAINS as readonly string[]).includes(name) ||
        name.startsWith('worker-') ||
        name.startsWith('catalog-bulk'),
    )
    expect(callers.length).toBeGreaterThan(DOMAINS.length)
    for (const name of callers) {
      const callerEnv = env(services[name]!)
      for (const d of DOMAINS) {
        // The imports worker writes its batches through catalog-bulk (below).
        const host = name === 'worker-imports' && d === 'catalog' ? 'catalog-bulk' : d
        expect(callerEnv[`SUBGRAPH_${d.toUpperCase()}_URL`], `${name} → ${d}`).toBe(
          `http://${host}:${defaults[d]}/graphql`,
        )
      }
    }
  })

  it('requires GATEWAY_SIGNING_SECRET and AUTH_TOKEN_SECRET from the environment for the gateway and every subgraph', () => {
    for (const name of ['gateway', ...DOMAINS]) {
      const raw = services[name]!.environment ?? {}
      for (const secret of Object.keys(SECRETS)) {
        // Required (`:?`), never a default written in the file.
        expect(String(raw[secret]), `${name} ${secret}`).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`))
        expect(env(services[name]!)[secret], name).toBe(SECRETS[secret])
        const { [secret]: _unset, ...others } = SECRETS
        expect(() => env(services[name]!, others), `${name} without ${secret}`).toThrow(
          new RegExp(`${secret} is missing: set ${secret}`),
        )
      }
    }
    // What the gateway reads from them, as it starts.
    expect(loadGatewayEnvironment(env(services.gateway!))).toMatchObject({
      signingSecret: SECRETS.GATEWAY_SIGNING_SECRET,
      tokenSecret: SECRETS.AUTH_TOKEN_SECRET,
    })
  })

  it('starts services in order: healthy databases, completed migrations, healthy subgraphs', () => {
    const conditions = (name: string) =>
      Object.fromEntries(Object.entries(services[name]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]))
    expect(conditions('migrate')).toEqual({ postgres: 'service_healthy' })
    for (const d of DOMAINS) {
      expect(conditions(d), d).toEqual({
        postgres: 'service_healthy',
        redis: 'service_healthy',
        minio: 'service_healthy',
        migrate: 'service_completed_successfully',
      })
    }
    expect(conditions('gateway')).toEqual(Object.fromEntries(DOMAINS.map((d) => [d, 'service_healthy'])))
    expect(services.migrate!.command).toEqual(['pnpm', 'pm', 'migrate', 'up'])
    expect(JSON.parse(read('package.json')).scripts.pm).toBe('tsx apps/pm/src/main.ts')
  })

  it('runs the imports worker alone (pm worker) on db_imports, with the services and storage the subgraphs have', () => {
    const worker = services['worker-imports']!
    expect(worker.build?.args?.SERVICE).toBe('apps/pm')
    expect(worker.command).toEqual(['pnpm', 'pm', 'worker', '--domain', 'imports'])
    const workerEnv = env(worker)
    const config = loadDatabaseConfig(workerEnv)
    expect(config.mode).toBe('external')
    if (config.mode === 'external') expect(new URL(config.domains.imports.url).pathname).toBe('/db_imports')
    expect(workerEnv.GATEWAY_SIGNING_SECRET).toBe(SECRETS.GATEWAY_SIGNING_SECRET)
    expect(Number(workerEnv.WORKER_CONCURRENCY)).toBeGreaterThan(0)
    const imports = env(services.imports!)
    for (const [k, v] of Object.entries(imports))
      if (k.startsWith('SUBGRAPH_') && k !== 'SUBGRAPH_CATALOG_URL') expect(workerEnv[k], k).toBe(v)
    expect(Object.keys(worker.depends_on ?? {}).sort()).toEqual(['migrate', 'minio', 'postgres', 'redis'])
  })

  it('bounds the V8 heaps of the workers that stream files (imports, exports) as the benchmarks measured them', () => {
    for (const name of ['worker-imports', 'worker-exports']) {
      const options = env(services[name]!).NODE_OPTIONS ?? ''
      expect(options, name).toMatch(/(^| )--max-old-space-size=128( |$)/)
      expect(options, name).toMatch(/(^| )--max-semi-space-size=8( |$)/)
    }
    const own = { ...SECRETS, WORKER_EXPORTS_NODE_OPTIONS: '--max-old-space-size=256' }
    expect(env(services['worker-exports']!, own).NODE_OPTIONS).toBe('--max-old-space-size=256')
  })

  it('has the imports worker write through catalog-bulk and catalog-bulk-2 in turn: catalog again, on the same database, at a lower priority, unpublished', () => {
    const workerEnv = env(services['worker-imports']!)
    expect(workerEnv.SUBGRAPH_CATALOG_URL).toBe(`http://catalog-bulk:${defaults.catalog}/graphql`)
    expect(workerEnv.IMPORT_CATALOG_URLS?.split(',')).toEqual([
      `http://catalog-bulk:${defaults.catalog}/graphql`,
      `http://catalog-bulk-2:${defaults.catalog}/graphql`,
    ])
    const catalogEnv = env(services.catalog!)
    for (const name of ['catalog-bulk', 'catalog-bulk-2']) {
      const bulk = services[name]!
      const bulkEnv = env(bulk)
      for (const [k, v] of Object.entries(catalogEnv)) expect(bulkEnv[k], `${name}: ${k}`).toBe(v)
      expect(Number(bulkEnv.SUBGRAPH_NICE), name).toBeGreaterThan(0)
      expect(loadSubgraphEnvironment('catalog', bulkEnv).nice, name).toBe(Number(bulkEnv.SUBGRAPH_NICE))
      expect(bulk.cpu_shares, name).toBeLessThan(1024)
      expect(publishedPorts(bulk), name).toEqual([])
      expect(bulk.healthcheck!.test.join(' '), name).toContain(
        `fetch('http://127.0.0.1:${adminDefaults.catalog.port}/ready')`,
      )
    }
    // The gateway never routes to them.
    expect(Object.values(env(services.gateway!)).join(' ')).not.toContain('catalog-bulk')
  })

  it('runs the media worker alone (pm worker) on db_media, with the media settings the subgraph has', () => {
    const worker = services['worker-media']!
    expect(worker.build?.args?.SERVICE).toBe('apps/pm')
    expect(worker.command).toEqual(['pnpm', 'pm', 'worker', '--domain', 'media'])
    const workerEnv = env(worker)
    const config = loadDatabaseConfig(workerEnv)
    if (config.mode === 'external') expect(new URL(config.domains.media.url).pathname).toBe('/db_media')
    const media = env(services.media!)
    for (const [k, v] of Object.entries(media)) if (k.startsWith('MEDIA_')) expect(workerEnv[k], k).toBe(v)
    expect(workerEnv.MEDIA_THUMBNAIL_SIZES).toBe('small:150,medium:400,large:1000')
  })

  it('runs the exports worker alone on db_exports, reaching the gateway by its service name', () => {
    const worker = services['worker-exports']!
    expect(worker.command).toEqual(['pnpm', 'pm', 'worker', '--domain', 'exports'])
    const workerEnv = env(worker)
    const config = loadDatabaseConfig(workerEnv)
    if (config.mode === 'external') expect(new URL(config.domains.exports.url).pathname).toBe('/db_exports')
    expect(workerEnv.GATEWAY_SIGNING_SECRET).toBe(SECRETS.GATEWAY_SIGNING_SECRET)
    expect(workerEnv.GATEWAY_URL).toBe('http://gateway:4000')
  })

  it('stores files in MinIO (driver s3) for the gateway, the subgraphs and the worker, in one bucket', () => {
    const minio = services.minio!
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\./)
    expect(minio.healthcheck!.test).toEqual(['CMD', 'mc', 'ready', 'local'])
    const minioEnv = env(minio)
    for (const name of ['gateway', 'worker-imports', 'worker-media', 'worker-exports', ...DOMAINS]) {
      const config = loadStorageConfig(env(services[name]!))
      expect(config, name).toMatchObject({
        driver: 's3',
        bucket: 'pm-files',
        endpoint: 'http://minio:9000',
        publicEndpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        createBucket: true,
        accessKeyId: minioEnv.MINIO_ROOT_USER,
        secretAccessKey: minioEnv.MINIO_ROOT_PASSWORD,
      })
    }
    const gateway = loadGatewayEnvironment(env(services.gateway!))
    expect(gateway.uploadMaxBytes).toBe(1_073_741_824)
    expect(publishedPorts(minio)).toContainEqual({ host: 9000, container: 9000 })
  })

  it('health-checks every service: pg_isready, redis-cli ping, and /ready on each Node service’s admin listener', () => {
    expect(services.postgres!.healthcheck!.test.join(' ')).toMatch(/pg_isready/)
    expect(services.redis!.healthcheck!.test.join(' ')).toMatch(/redis-cli.*ping/)
    const ready = (name: string, port: number) =>
      expect(services[name]!.healthcheck!.test.join(' '), name).toContain(
        `fetch('http://127.0.0.1:${port}/ready')`,
      )
    ready('gateway', adminDefaults.gateway.port)
    for (const d of DOMAINS) ready(d, adminDefaults[d].port)
    // Loopback by default; in compose, the admin listeners bind the container's interfaces so that Prometheus
    // scrapes them over the compose network, and their ports are never published.
    expect(adminDefaults.gateway.host).toBe('127.0.0.1')
    for (const name of ['gateway', ...DOMAINS]) {
      expect(env(services[name]!).ADMIN_HOST, name).toBe('0.0.0.0')
      for (const { container } of publishedPorts(services[name]!))
        expect(container, name).not.toBe(adminDefaults[name as 'gateway'].port)
    }
    expect(publishedPorts(services['worker-imports']!)).toEqual([])
  })

  it('scrapes every service’s admin listener with Prometheus and provisions the Grafana dashboard', () => {
    const config = parse(read('docker/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]
    }
    const targets = Object.fromEntries(
      config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]),
    )
    expect(targets.gateway).toEqual([`gateway:${adminDefaults.gateway.port}`])
    for (const d of DOMAINS) expect(targets[d], d).toEqual([`${d}:${adminDefaults[d].port}`])
    expect(targets['catalog-bulk']).toEqual([
      `catalog-bulk:${adminDefaults.catalog.port}`,
      `catalog-bulk-2:${adminDefaults.catalog.port}`,
    ])
    const workerPort = env(services['worker-imports']!).WORKER_ADMIN_PORT
    expect(targets['worker-imports']).toEqual([`worker-imports:${workerPort}`])
    expect(env(services['worker-imports']!).ADMIN_HOST).toBe('0.0.0.0')
    // Prometheus and Grafana answer on loopback only.
    for (const name of ['prometheus', 'grafana'])
      for (const entry of services[name]!.ports ?? [])
        expect(interpolate(entry), name).toMatch(/^127\.0\.0\.1:/)
    const grafana = services.grafana!
    expect(grafana.volumes).toContain('./docker/grafana/dashboards:/var/lib/grafana/dashboards:ro')
    const provider = parse(read('docker/grafana/provisioning/dashboards/products-manager.yml')) as {
      providers: { options: { path: string } }[]
    }
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards')
    const datasource = parse(read('docker/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; url: string }[]
    }
    expect(datasource.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' })
    const dashboard = JSON.parse(read('docker/grafana/dashboards/products-manager.json')) as {
      panels: { datasource: { uid: string } }[]
    }
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe('prometheus')
  })

  it('passes the gateway settings of the README on from the environment', () => {
    const parsed = loadGatewayEnvironment(
      env(services.gateway!, {
        ...SECRETS,
        GATEWAY_ENV: 'production',
        GATEWAY_RATE_LIMIT_PER_MINUTE: '5',
        GATEWAY_MAX_COST: '800',
        GATEWAY_APQ_REGISTRATIONS_PER_MINUTE: '7',
      }),
    )
    expect(parsed).toMatchObject({
      mode: 'production',
      graphiql: false,
      rateLimitPerMinute: 5,
      limits: { maxCost: 800 },
      apqRegistrationsPerMinute: 7,
    })
    // Unset, they keep the gateway's defaults.
    expect(loadGatewayEnvironment(env(services.gateway!))).toMatchObject({
      rateLimitPerMinute: 600,
      limits: { maxCost: 5_000 },
      maxBatch: 10,
    })
  })

  it('bounds Redis in memory, evicting only keys that have a lifetime', () => {
    const command = services.redis!.command!.map((part) => interpolate(part))
    const option = (name: string) => command[command.indexOf(name) + 1]
    expect(option('--maxmemory')).toBe('256mb')
    expect(option('--maxmemory-policy')).toBe('volatile-lru')
  })

  it('creates exactly the seven domain databases in the postgres init script', () => {
    expect(services.postgres!.volumes).toContain('./docker/postgres-init:/docker-entrypoint-initdb.d:ro')
    const dir = new URL('docker/postgres-init/', root)
    const created = readdirSync(dir)
      .filter((f) => f.endsWith('.sql') || f.endsWith('.sh'))
      .flatMap((f) => [...readFileSync(new URL(f, dir), 'utf8').matchAll(/CREATE DATABASE\s+"?(\w+)"?/gi)])
      .map((m) => m[1])
    expect(created.sort()).toEqual(DOMAINS.map((d: Domain) => databaseName(d)).sort())
  })
})

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile')

  it('builds on node:20-bookworm-slim with the production dependencies of every workspace package', () => {
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim AS /m)
    expect(dockerfile).toContain('npx -y pnpm@10 install --frozen-lockfile --prod')
    // The manifests are copied one by one (for layer caching): a new workspace package must be added there.
    const packages = ['gateway', 'apps', 'packages', 'subgraphs'].flatMap((dir) =>
      dir === 'gateway'
        ? ['gateway']
        : readdirSync(new URL(`${dir}/`, root))
            .filter((p) => existsSync(new URL(`${dir}/${p}/package.json`, root)))
            .map((p) => `${dir}/${p}`),
    )
    for (const p of packages) expect(dockerfile, p).toContain(`COPY ${p}/package.json ${p}/`)
    expect(dockerfile).toMatch(/exec tsx \\?"\$SERVICE\/src\/main\.ts\\?"/)
  })

  it('keeps local dependencies and data out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
    for (const entry of ['**/node_modules', '.git', '.data', '.env']) expect(ignored).toContain(entry)
  })
})
