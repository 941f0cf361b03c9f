import net from 'node:net'
import {
  EmbeddedPostgresError,
  errorCode,
  errorMessage,
  HOST,
  PASSWORD,
  PORT_CHECK_TIMEOUT_MS,
  PORT_ENV_VAR,
  USER,
} from './common'

export function connectionUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@${HOST}:${port}/postgres`
}

export function portInUseError(port: number): EmbeddedPostgresError {
  const suggestion = port < 65535 ? port + 1 : port - 1
  return new EmbeddedPostgresError(
    `Port ${port} is already in use by another program, so the embedded PostgreSQL server cannot listen on ${HOST}:${port}. Set ${PORT_ENV_VAR} to a free port (for example ${PORT_ENV_VAR}=${suggestion}) or stop the program using port ${port}.`,
  )
}

export function canConnect(port: number, timeoutMs = PORT_CHECK_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    const done = (result: boolean) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export async function assertPortFree(port: number): Promise<void> {
  if (await canConnect(port)) throw portInUseError(port)
  // A listen attempt also catches listeners that do not accept (or are slow to accept) connections.
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer()
    const timer = setTimeout(() => {
      server.close()
      reject(
        new EmbeddedPostgresError(
          `Timed out checking whether port ${port} is free. Set ${PORT_ENV_VAR} to another port.`,
        ),
      )
    }, PORT_CHECK_TIMEOUT_MS)
    server.once('error', (err) => {
      clearTimeout(timer)
      if (errorCode(err) === 'EADDRINUSE') reject(portInUseError(port))
      else {
        reject(
          new EmbeddedPostgresError(
            `Cannot listen on ${HOST}:${port} (${errorMessage(err)}). Set ${PORT_ENV_VAR} to a free port above 1024.`,
            { cause: err },
          ),
        )
      }
    })
    server.listen({ host: HOST, port, exclusive: true }, () => {
      clearTimeout(timer)
      server.close(() => resolve())
    })
  })
}
