import { randomUUID } from 'node:crypto'
import { createLogger, startSubgraph } from '@pm/service-kit'
import { signedHeaders } from '@pm/testing/auth'
import { startTestStack, type TestStack } from '@pm/testing/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subgraph as analyticsSubgraph } from '../../subgraphs/analytics/src/module'

let stack: TestStack
const userId = randomUUID()

const CREATE = `mutation($input: CreateNotificationInput!) {
  createNotification(input: $input) { id title type read expiresAt }
}`

async function auditRows(entityId: string) {
  return stack.subgraphs.analytics.database.db
    .selectFrom('audit_logs')
    .select(['action', 'entity_type', 'entity_id', 'event_id', 'changes'])
    .where('entity_id', '=', entityId)
    .execute()
}

beforeAll(async () => {
  stack = await startTestStack()
  await stack.subgraphs.core.database.db
    .insertInto('users')
    .values({ id: userId, email: 'audit@example.com', hashed_password: 'x' })
    .execute()
})
afterAll(() => stack?.stop())

describe('mutations write an audit entry through the outbox', () => {
  it('creates a notification, validates input, and records the change in analytics', async () => {
    const res = await stack.request(CREATE, { input: { userId, title: '  Import finished ', message: 'ok' } })
    expect(res.errors).toBeUndefined()
    const created = res.data.createNotification
    expect(created).toMatchObject({ title: 'Import finished', type: 'INFO', read: false })
    expect(new Date(created.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000)

    await stack.subgraphs.core.server.auditRelay.flush()
    const rows = await auditRows(created.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ action: 'create', entity_type: 'notification' })
    expect((rows[0]!.changes as any).after.title).toBe('Import finished')

    const long = await stack.request(CREATE, { input: { userId, title: 'x'.repeat(256), message: 'm' } })
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.title' })
    const nobody = await stack.request(CREATE, { input: { userId: randomUUID(), title: 't', message: 'm' } })
    expect(nobody.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'input.userId' })
    const badType = await stack.request(CREATE, { input: { userId, title: 't', message: 'm', type: 'LOUD' } })
    expect(badType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT')
    expect(await stack.subgraphs.core.server.auditRelay.pending()).toBe(0)
  })

  it('does not expose the internal audit mutation through the gateway', async () => {
    const res = await stack.request('mutation { recordAuditEntries(entries: []) }')
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })

  it('keeps the mutation working while analytics is down and delivers the entry once it is back', async () => {
    const analytics = stack.subgraphs.analytics
    const port = analytics.server.http.port
    await analytics.server.stop()

    const res = await stack.request(CREATE, {
      input: { userId, title: 'While analytics sleeps', message: 'm' },
    })
    expect(res.errors).toBeUndefined()
    const id = res.data.createNotification.id
    const relay = stack.subgraphs.core.server.auditRelay
    expect(await relay.flush()).toBe(0)
    expect(await relay.pending()).toBe(1)
    expect(await auditRows(id)).toHaveLength(0)

    analytics.server = await startSubgraph(analyticsSubgraph, {
      database: analytics.database,
      port,
      logger: createLogger({ service: 'analytics-again' }, 'error'),
      peers: {},
      signingSecret: stack.secrets.signing,
    })
    // Back-off after the failure: an explicit flush delivers now.
    expect(await relay.flush()).toBe(1)
    expect(await relay.pending()).toBe(0)
    const rows = await auditRows(id)
    expect(rows).toHaveLength(1)

    // A redelivery of the same entry (lost acknowledgement) stores nothing twice.
    const redelivery = JSON.stringify({
      query: 'mutation($e: [AuditEntryInput!]!) { recordAuditEntries(entries: $e) }',
      variables: {
        e: [
          {
            eventId: rows[0]!.event_id,
            action: 'create',
            entityType: 'notification',
            entityId: id,
            occurredAt: new Date().toISOString(),
          },
        ],
      },
    })
    const again = await fetch(analytics.server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signedHeaders('analytics', redelivery) },
      body: redelivery,
    }).then((r) => r.json())
    expect(again).toEqual({ data: { recordAuditEntries: 0 } })
    expect(await auditRows(id)).toHaveLength(1)
  })

  it('marks read once: the second call changes and audits nothing', async () => {
    const res = await stack.request(CREATE, { input: { userId, title: 'Read me', message: 'm' } })
    const id = res.data.createNotification.id
    const mark = `mutation($id: UUID!) { markNotificationRead(id: $id) { id read } }`
    expect((await stack.request(mark, { id })).data.markNotificationRead).toEqual({ id, read: true })
    expect((await stack.request(mark, { id })).data.markNotificationRead).toEqual({ id, read: true })
    await stack.subgraphs.core.server.auditRelay.flush()
    const actions = (await auditRows(id)).map((r) => r.action).sort()
    expect(actions).toEqual(['create', 'update'])
    const missing = await stack.request(mark, { id: randomUUID() })
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' })
  })
})
