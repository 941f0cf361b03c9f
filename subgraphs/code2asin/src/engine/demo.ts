import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { type Peers, postPeer, queryPeer } from '@pm/service-kit'
import { discardUpload, SERVICE_OWNER, type Storage, saveUpload } from '@pm/storage'
import { CatalogGone, forEachProductId, productDetails } from './catalog'
import type { MatchProduct } from './scoring'

/** The demo job's name: how a later start knows it is there already. */
export const DEMO_JOB_NAME = 'Démo – table de correspondance EAN → ASIN'
/** Matches at or above this confidence are verified (and written to the catalog) by the worker. */
export const DEMO_AUTO_VERIFY = '95'

const JOBS = `query($code: String!, $after: String) {
  code2asinJobs(supplierCode: $code, first: 100, after: $after) {
    edges { node { id name } } pageInfo { hasNextPage endCursor } } }`
const CREATE = `mutation($input: CreateCode2AsinJobInput!) { createCode2AsinJob(input: $input) { id totalCodes } }`

interface JobsPage {
  code2asinJobs: {
    edges: { node: { id: string; name: string | null } }[]
    pageInfo: { hasNextPage: boolean; endCursor: string | null }
  }
}

export interface DemoMatching {
  jobId: string
  /** False when an earlier start had made the job already (nothing was done). */
  created: boolean
  /** The supplier's products the job covers (0 when not created now). */
  products: number
  /** Lines of the lookup table stored (0 when not created now). */
  tableRows: number
}

/** A stable hash of the EAN: the same table on every start, for the same catalogue. */
const digest = (ean: string) => createHash('sha256').update(`pm-demo-asin:${ean}`).digest()

/** An ASIN as Amazon writes them (B0 and eight upper-case letters or digits), drawn from the digest. */
function demoAsin(hash: Buffer): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  let out = 'B0'
  for (let i = 1; i <= 8; i++) out += alphabet[hash[i]! % alphabet.length]
  return out
}

const cell = (value: string) => `"${value.replace(/"/g, '""')}"`

/**
 * The demo's lookup table for these products, as a partner's export would give it (CSV: ean;asin;title;brand):
 * 7 products in 10 carry their own title and brand (an exact match the worker verifies), 1 in 10 an Amazon
 * listing titled otherwise (an exact match left for a person to verify), 2 in 10 are missing (no match).
 */
export function demoLookupTable(products: readonly MatchProduct[]): { csv: string; rows: number } {
  const lines = ['ean;asin;title;brand']
  for (const p of products) {
    if (!p.ean) continue
    const hash = digest(p.ean)
    const bucket = hash[0]! % 10
    if (bucket < 2) continue
    // A listing under another name and no brand: the EAN matches, nothing else does.
    const other = bucket === 2
    const title = other ? `Article ${p.ean.slice(-6)} (listing Amazon)` : (p.title ?? `Produit ${p.ean}`)
    lines.push([p.ean, demoAsin(hash), cell(title), cell(other ? '' : (p.brand ?? ''))].join(';'))
  }
  return { csv: `${lines.join('\n')}\n`, rows: lines.length - 1 }
}

async function existingDemoJob(peers: Peers, supplierCode: string): Promise<string | null> {
  let after: string | null = null
  for (;;) {
    const page: JobsPage = await queryPeer<JobsPage>(peers, 'code2asin', JOBS, { code: supplierCode, after })
    const found = page.code2asinJobs.edges.find((e) => e.node.name === DEMO_JOB_NAME)
    if (found) return found.node.id
    if (!page.code2asinJobs.pageInfo.hasNextPage) return null
    after = page.code2asinJobs.pageInfo.endCursor
  }
}

/**
 * Makes the demo's ASIN matches of one supplier come from the engine (`pnpm start` with demo data): reads the
 * supplier's products through catalog's graph, stores a lookup table made from them (demoLookupTable) as an
 * upload, and creates a code2asin job over the supplier with that LOOKUP_TABLE provider through code2asin's
 * createCode2AsinJob, both as the SERVICE caller (`peers` signed); the code2asin worker then runs it. Idempotent:
 * a job of that name for the supplier is left as it is. Null when the catalog has no such supplier or it has no
 * product with an EAN.
 */
export async function startDemoMatching(o: {
  peers: Peers
  storage: Storage
  supplierCode: string
}): Promise<DemoMatching | null> {
  const existing = await existingDemoJob(o.peers, o.supplierCode)
  if (existing) return { jobId: existing, created: false, products: 0, tableRows: 0 }
  const ids: string[] = []
  try {
    await forEachProductId(o.peers, o.supplierCode, async (page) => {
      ids.push(...page)
    })
  } catch (error) {
    if (error instanceof CatalogGone) return null
    throw error
  }
  const products = [...(await productDetails(o.peers, ids)).values()]
  const table = demoLookupTable(products)
  if (table.rows === 0) return null
  const upload = await saveUpload(o.storage, Readable.from([Buffer.from(table.csv, 'utf8')]), {
    owner: SERVICE_OWNER,
    filename: `demo-asin-${o.supplierCode.toLowerCase()}.csv`,
    maxBytes: 64 * 1024 * 1024,
  })
  const created = await postPeer<{ createCode2AsinJob: { id: string; totalCodes: number } }>(
    o.peers,
    'code2asin',
    CREATE,
    {
      input: {
        name: DEMO_JOB_NAME,
        supplierCode: o.supplierCode,
        provider: { kind: 'LOOKUP_TABLE', uploadId: upload.id },
        autoVerifyConfidence: DEMO_AUTO_VERIFY,
        batchSize: 50,
      },
    },
    30_000,
  )
  if (!created.data?.createCode2AsinJob) {
    await discardUpload(o.storage, upload.id)
    throw new Error(`the demo code2asin job was not created: ${created.errors?.[0]?.message ?? 'no answer'}`)
  }
  return {
    jobId: created.data.createCode2AsinJob.id,
    created: true,
    products: created.data.createCode2AsinJob.totalCodes,
    tableRows: table.rows,
  }
}
