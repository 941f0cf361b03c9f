import type { AddressInfo } from 'node:net'
import { FtpSrv } from 'ftp-srv'

export interface TestFtpServer {
  host: string
  port: number
  close(): Promise<void>
}

const silent: any = {
  child: () => silent,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
}

/**
 * A real FTP server (ftp-srv) on 127.0.0.1 serving `root` to one user, passive mode; with `tls`, explicit FTPS
 * (AUTH TLS) with that certificate.
 */
export async function startFtpServer(o: {
  root: string
  username: string
  password: string
  tls?: { key: string; cert: string }
}): Promise<TestFtpServer> {
  const server = new FtpSrv({
    url: 'ftp://127.0.0.1:0',
    pasv_url: '127.0.0.1',
    pasv_min: 40_000,
    pasv_max: 60_000,
    anonymous: false,
    log: silent,
    ...(o.tls ? { tls: o.tls } : {}),
  })
  server.on(
    'login',
    ({ username, password }: { username: string; password: string }, resolve: any, reject: any) => {
      if (username === o.username && password === o.password) resolve({ root: o.root })
      else reject(new Error('Invalid username or password'))
    },
  )
  await server.listen()
  const { port } = (server as any).server.address() as AddressInfo
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      await server.close()
    },
  }
}
