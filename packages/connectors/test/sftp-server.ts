import { createHash, generateKeyPairSync, timingSafeEqual } from 'node:crypto'
import { promises as fs } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join, posix } from 'node:path'
import { Server, type SFTPWrapper, utils } from 'ssh2'

const { OPEN_MODE, STATUS_CODE, flagsToString } = utils.sftp

export interface TestSftpServer {
  host: string
  port: number
  /** "SHA256:<base64>" of the host key, as ssh-keygen -l prints it. */
  fingerprint: string
  close(): Promise<void>
}

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

/** An RSA key pair: the private key in PEM (PKCS#1), the public one as an authorized_keys line. */
export function rsaKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  })
  const parsed = utils.parseKey(privateKey)
  if (parsed instanceof Error) throw parsed
  const key = Array.isArray(parsed) ? parsed[0]! : parsed
  return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}` }
}

/**
 * A real SFTP server (ssh2's Server) on 127.0.0.1 serving `root` as "/": one user, with a password or a public
 * key. Implements what a client lists, reads and writes with (SFTP v3).
 */
export async function startSftpServer(o: {
  root: string
  username: string
  password: string
  authorizedKey?: string
}): Promise<TestSftpServer> {
  const hostKey = rsaKeyPair().privateKey
  const parsedHost = utils.parseKey(hostKey)
  if (parsedHost instanceof Error || Array.isArray(parsedHost)) throw new Error('host key not parsed')
  const hostDigest = createHash('sha256').update(parsedHost.getPublicSSH()).digest('base64')
  const fingerprint = `SHA256:${hostDigest.replace(/=+$/, '')}`
  const allowedKey = o.authorizedKey ? utils.parseKey(o.authorizedKey) : undefined
  if (allowedKey instanceof Error) throw allowedKey

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => {})
    client.on('authentication', (ctx) => {
      const userOk = same(Buffer.from(ctx.username), Buffer.from(o.username))
      if (ctx.method === 'password' && userOk && same(Buffer.from(ctx.password), Buffer.from(o.password))) {
        return ctx.accept()
      }
      if (ctx.method === 'publickey' && userOk && allowedKey) {
        const key = Array.isArray(allowedKey) ? allowedKey[0]! : allowedKey
        const keyOk = ctx.key.algo === key.type && same(ctx.key.data, key.getPublicSSH())
        if (keyOk && (!ctx.signature || key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true)) {
          return ctx.accept()
        }
      }
      ctx.reject(['password', 'publickey'])
    })
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept()
        session.on('sftp', (acceptSftp) => serve(acceptSftp(), o.root))
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    host: '127.0.0.1',
    port,
    fingerprint,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function serve(sftp: SFTPWrapper, root: string) {
  const handles = new Map<number, { fd?: fs.FileHandle; entries?: string[]; dir?: string }>()
  let next = 0
  const local = (path: string) => join(root, posix.normalize(`/${path}`))
  const newHandle = (value: { fd?: fs.FileHandle; entries?: string[]; dir?: string }) => {
    const id = next++
    handles.set(id, value)
    const buf = Buffer.alloc(4)
    buf.writeUInt32BE(id)
    return buf
  }
  const lookup = (handle: Buffer) => (handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined)
  const fail = (reqid: number, error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code
    sftp.status(
      reqid,
      code === 'ENOENT'
        ? STATUS_CODE.NO_SUCH_FILE
        : code === 'EACCES'
          ? STATUS_CODE.PERMISSION_DENIED
          : STATUS_CODE.FAILURE,
    )
  }
  const attrs = (s: import('node:fs').Stats) => ({
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    atime: Math.floor(s.atimeMs / 1000),
    mtime: Math.floor(s.mtimeMs / 1000),
  })

  sftp.on('REALPATH', (reqid, path) => {
    const abs = posix.normalize(`/${path}`)
    sftp.name(reqid, [{ filename: abs, longname: abs, attrs: {} as any }])
  })
  const onStat = (reqid: number, path: string) => {
    fs.stat(local(path)).then(
      (s) => sftp.attrs(reqid, attrs(s)),
      (e) => fail(reqid, e),
    )
  }
  sftp.on('STAT', onStat)
  sftp.on('LSTAT', onStat)
  sftp.on('FSTAT', (reqid, handle) => {
    const h = lookup(handle)
    if (!h?.fd) return sftp.status(reqid, STATUS_CODE.FAILURE)
    h.fd.stat().then(
      (s) => sftp.attrs(reqid, attrs(s)),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('OPENDIR', (reqid, path) => {
    fs.readdir(local(path)).then(
      (entries) => sftp.handle(reqid, newHandle({ entries, dir: local(path) })),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('READDIR', async (reqid, handle) => {
    const h = lookup(handle)
    if (!h?.entries) return sftp.status(reqid, STATUS_CODE.FAILURE)
    if (h.entries.length === 0) return sftp.status(reqid, STATUS_CODE.EOF)
    const names = []
    for (const name of h.entries.splice(0)) {
      const s = await fs.stat(join(h.dir!, name))
      const type = s.isDirectory() ? 'd' : '-'
      names.push({
        filename: name,
        longname: `${type}rw-r--r-- 1 pm pm ${s.size} Jan 1 00:00 ${name}`,
        attrs: attrs(s),
      })
    }
    sftp.name(reqid, names)
  })
  sftp.on('OPEN', (reqid, filename, flags) => {
    const mode = flagsToString(flags)
    if (!mode) return sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED)
    fs.open(local(filename), flags & OPEN_MODE.WRITE ? mode : 'r').then(
      (fd) => sftp.handle(reqid, newHandle({ fd })),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('READ', (reqid, handle, offset, length) => {
    const h = lookup(handle)
    if (!h?.fd) return sftp.status(reqid, STATUS_CODE.FAILURE)
    const buf = Buffer.alloc(length)
    h.fd.read(buf, 0, length, offset).then(
      ({ bytesRead }) =>
        bytesRead === 0 ? sftp.status(reqid, STATUS_CODE.EOF) : sftp.data(reqid, buf.subarray(0, bytesRead)),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('WRITE', (reqid, handle, offset, data) => {
    const h = lookup(handle)
    if (!h?.fd) return sftp.status(reqid, STATUS_CODE.FAILURE)
    h.fd.write(data, 0, data.length, offset).then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('CLOSE', (reqid, handle) => {
    const h = lookup(handle)
    if (!h) return sftp.status(reqid, STATUS_CODE.FAILURE)
    handles.delete(handle.readUInt32BE(0))
    ;(h.fd ? h.fd.close() : Promise.resolve()).then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('SETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK))
  sftp.on('FSETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK))
  sftp.on('MKDIR', (reqid, path) => {
    fs.mkdir(local(path)).then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('REMOVE', (reqid, path) => {
    fs.unlink(local(path)).then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      (e) => fail(reqid, e),
    )
  })
  sftp.on('RENAME', async (reqid, from, to) => {
    // SFTP v3: renaming onto an existing file fails.
    if (
      await fs.stat(local(to)).then(
        () => true,
        () => false,
      )
    )
      return sftp.status(reqid, STATUS_CODE.FAILURE)
    fs.rename(local(from), local(to)).then(
      () => sftp.status(reqid, STATUS_CODE.OK),
      (e) => fail(reqid, e),
    )
  })
}
