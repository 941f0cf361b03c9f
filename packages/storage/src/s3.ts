import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectTaggingCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { checkKey, checkMetadata, checkPrefix } from './keys'
import { metered } from './meter'
import { expirySeconds } from './signing'
import {
  type ObjectInfo,
  type PutOptions,
  type Storage,
  StorageLimitError,
  StorageNotFoundError,
  type UrlOptions,
} from './types'

export interface S3StorageOptions {
  bucket: string
  region: string
  /** An S3-compatible server (MinIO, s3rver); absent: AWS. */
  endpoint?: string
  /** The endpoint clients reach for download URLs, when it differs from `endpoint` (e.g. inside Docker). */
  publicEndpoint?: string
  forcePathStyle?: boolean
  accessKeyId?: string
  secretAccessKey?: string
  /** Create the bucket on first use when it does not exist. */
  createBucket?: boolean
  /** Multipart part size in bytes (default 8 MiB). */
  partSize?: number
}

/** The tag holding an object's SHA-256: known only once the stream has been read, after the upload started. */
const SHA256_TAG = 'sha256'

const status = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode

function clientConfig(o: S3StorageOptions, endpoint: string | undefined): S3ClientConfig {
  return {
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: o.forcePathStyle ?? Boolean(endpoint),
    ...(o.accessKeyId && o.secretAccessKey
      ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } }
      : {}),
    // Checksums only where S3 requires them: S3-compatible servers do not all read the newer checksum headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  }
}

/** Objects in one bucket of S3 or an S3-compatible server; large bodies go up as multipart uploads. */
export class S3Storage implements Storage {
  readonly driver = 's3' as const
  readonly client: S3Client
  private readonly presigner: S3Client
  private bucketReady: Promise<void> | undefined

  constructor(readonly options: S3StorageOptions) {
    this.client = new S3Client(clientConfig(options, options.endpoint))
    this.presigner = options.publicEndpoint
      ? new S3Client(clientConfig(options, options.publicEndpoint))
      : this.client
  }

  private ensureBucket(): Promise<void> {
    if (!this.options.createBucket) return Promise.resolve()
    this.bucketReady ??= (async () => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }))
      } catch (error) {
        if (status(error) !== 404) throw error
        // Another process may create it at the same time: 409 (already owned by you) is success too.
        await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket })).catch((e) => {
          if (status(e) !== 409) throw e
        })
      }
    })().catch((error) => {
      this.bucketReady = undefined
      throw error
    })
    return this.bucketReady
  }

  async put(
    key: string,
    body: Readable | Buffer | string,
    opts: PutOptions = {},
  ): Promise<ObjectInfo & { sha256: string }> {
    checkKey(key)
    const metadata = checkMetadata(opts.metadata)
    await this.ensureBucket()
    const { meter } = metered(body, opts.maxBytes)
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: key,
        Body: meter,
        Metadata: metadata,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      },
      partSize: this.options.partSize ?? 8 * 1_048_576,
      queueSize: 4,
      // A failed multipart upload is aborted: no parts are left behind.
      leavePartsOnError: false,
    })
    try {
      await upload.done()
    } catch (error) {
      await upload.abort().catch(() => {})
      if (meter.errored instanceof StorageLimitError) throw meter.errored
      throw meter.errored ?? error
    }
    const sha256 = meter.sha256()
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.options.bucket,
        Key: key,
        Tagging: { TagSet: [{ Key: SHA256_TAG, Value: sha256 }] },
      }),
    )
    return {
      key,
      size: meter.bytes,
      sha256,
      lastModified: new Date(),
      metadata,
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    }
  }

  async copy(
    from: string,
    to: string,
    opts: Omit<PutOptions, 'maxBytes'> = {},
  ): Promise<ObjectInfo & { sha256: string }> {
    checkKey(from)
    checkKey(to)
    const metadata = checkMetadata(opts.metadata)
    await this.ensureBucket()
    const source = await this.head(from)
    if (!source) throw new StorageNotFoundError(from)
    let sha256 = source.sha256
    if (!sha256) {
      const hash = createHash('sha256')
      for await (const chunk of await this.get(from)) hash.update(chunk as Buffer)
      sha256 = hash.digest('hex')
    }
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.options.bucket,
          Key: to,
          // "bucket/key", URL-encoded (the key's "/" kept).
          CopySource: `${this.options.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: metadata,
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        }),
      )
    } catch (error) {
      if (status(error) === 404) throw new StorageNotFoundError(from)
      throw error
    }
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.options.bucket,
        Key: to,
        Tagging: { TagSet: [{ Key: SHA256_TAG, Value: sha256 }] },
      }),
    )
    return {
      key: to,
      size: source.size,
      sha256,
      lastModified: new Date(),
      metadata,
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    checkKey(key)
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
        }),
      )
      return answer.Body as Readable
    } catch (error) {
      if (status(error) === 404) throw new StorageNotFoundError(key)
      throw error
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key)
    try {
      const [answer, tags] = await Promise.all([
        this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key })),
        this.client
          .send(new GetObjectTaggingCommand({ Bucket: this.options.bucket, Key: key }))
          .catch((error) => {
            if (status(error) === 404) return { TagSet: [] }
            throw error
          }),
      ])
      const sha256 = tags.TagSet?.find((t) => t.Key === SHA256_TAG)?.Value
      return {
        key,
        size: answer.ContentLength ?? 0,
        lastModified: answer.LastModified ?? new Date(0),
        metadata: answer.Metadata ?? {},
        ...(answer.ContentType ? { contentType: answer.ContentType } : {}),
        ...(sha256 ? { sha256 } : {}),
      }
    } catch (error) {
      if (status(error) === 404) return null
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key)
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }))
    } catch (error) {
      if (status(error) !== 404) throw error
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix)
    let token: string | undefined
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      )
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue
        yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0), metadata: {} }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async url(key: string, opts?: UrlOptions): Promise<string> {
    checkKey(key)
    const disposition = opts?.filename ? contentDisposition(opts.filename) : undefined
    return getSignedUrl(
      this.presigner,
      new GetObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        ...(disposition ? { ResponseContentDisposition: disposition } : {}),
      }),
      { expiresIn: expirySeconds(opts) },
    )
  }

  destroy() {
    this.client.destroy()
    if (this.presigner !== this.client) this.presigner.destroy()
  }
}

/** `attachment` with an ASCII fallback name and the UTF-8 one (RFC 6266). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`
}
