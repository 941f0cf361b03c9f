import { createHmac } from 'node:crypto'

/** A key for download URLs derived from the gateway's signing secret: one secret fewer to configure. */
export function deriveUrlSecret(signingSecret: string | undefined): string | undefined {
  if (!signingSecret) return undefined
  return createHmac('sha256', signingSecret).update('pm-storage-download-urls').digest('base64url')
}
