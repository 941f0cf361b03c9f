import { badUserInput, notFound } from '@pm/service-kit'
import { openUpload, UploadNotFoundError, uploadOwner } from '@pm/storage'
import type { Context } from '../context'
import { services } from '../services'
import { parseLookupTable } from './lookup-table'
import { ProviderError } from './provider'

/** Reads the caller's uploaded lookup table and refuses it, naming the line, when the worker would. */
export async function checkLookupUpload(ctx: Context, uploadId: string): Promise<void> {
  const field = 'input.provider.uploadId'
  const owner = uploadOwner(ctx.caller)
  let text: string
  let fileName: string
  try {
    if (!owner) throw new UploadNotFoundError(uploadId)
    const upload = await openUpload(services(ctx.env, ctx.logger).storage, uploadId, owner)
    const chunks: Buffer[] = []
    for await (const chunk of await upload.stream()) chunks.push(Buffer.from(chunk))
    text = Buffer.concat(chunks).toString('utf8')
    fileName = upload.info.filename
  } catch (error) {
    if (error instanceof UploadNotFoundError)
      throw notFound(`${field}: no upload of yours has this id`, { field })
    throw error
  }
  try {
    parseLookupTable(text, fileName)
  } catch (error) {
    if (error instanceof ProviderError)
      throw badUserInput(`${field}: ${error.message}`, { field, reason: error.code })
    throw error
  }
}
