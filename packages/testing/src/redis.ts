import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createConnection } from 'node:net'
import { freePort } from './ports'

/** A redis-server of the test's own, on a free loopback port, that the test may stop and start again. */
export interface PrivateRedis {
  url: string
  port: number
  /** Kills the server at once (no save): clients see the connection drop, as in an outage. */
  stop(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
}

/** The redis-server binary, or null when the machine has none. */
export function redisServerBinary(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'))
    socket.setTimeout(500, () => socket.destroy())
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
    socket.once('close', () => resolve(false))
  })
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = redisServerBinary()
  if (!binary) throw new Error('redis-server is not installed: the outage tests need a server of their own')
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    )
    const deadline = Date.now() + 5_000
    while (Date.now() < deadline) {
      if (await answers(port)) return
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error(`redis-server on port ${port} did not answer within 5 s`)
  }
  const stop = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((r) => running.once('exit', r))
    running.kill('SIGKILL')
    await exited
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}
