import { readFile } from 'node:fs/promises'
import {
  createDomainDatabase,
  type Domain,
  type DomainDatabaseConfig,
  type WithDatabasesOptions,
} from '@pm/db'
import { createSuperuser, SuperuserError } from '@pm/subgraph-core/superuser'
import { type ParsedArgs, UsageError } from './args'

const USAGE =
  'pm user create-superuser --email ADDRESS [--password-file FILE] (else the password is read from standard input)'

/** Reads one line from a terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const { stdin, stderr } = process
  return new Promise((resolve, reject) => {
    let value = ''
    stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    stdin.setEncoding('utf8')
    const done = (error?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return done()
        if (char === '\u0003') return done(new UsageError('interrupted'))
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
        else value += char
      }
    }
    stdin.on('data', onData)
  })
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** The password from --password-file, else from standard input (asked twice, unechoed, on a terminal). */
async function readPassword(args: ParsedArgs): Promise<string> {
  const file = args.flags.get('password-file')
  if (file === true) throw new UsageError(`--password-file needs a file name\n${USAGE}`)
  // A password on the command line would land in shell history and the process list.
  const trimEnd = (text: string) => text.replace(/\r?\n$/, '')
  if (typeof file === 'string') return trimEnd(await readFile(file, 'utf8'))
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ')
    if ((await promptHidden('Repeat it: ')) !== first) throw new UsageError('the two passwords differ')
    return first
  }
  return trimEnd(await readStdin())
}

export async function user(
  args: ParsedArgs,
  withDatabases: <T>(
    fn: (domains: Record<Domain, DomainDatabaseConfig>) => Promise<T>,
    options?: WithDatabasesOptions,
  ) => Promise<T>,
): Promise<void> {
  if (args.positionals[1] !== 'create-superuser') throw new UsageError(USAGE)
  if (args.flags.has('password')) {
    throw new UsageError(
      `passwords are never taken from the command line: use --password-file or standard input\n${USAGE}`,
    )
  }
  const email = args.flags.get('email')
  if (typeof email !== 'string') throw new UsageError(`--email is required\n${USAGE}`)
  const password = await readPassword(args)
  // The roles and permissions come with core's migrations: its database is brought to head first.
  await withDatabases(
    async (configs) => {
      const database = createDomainDatabase({
        ...configs.core,
        domain: 'core' as const,
        pool: { ...configs.core.pool, size: 1, maxOverflow: 0 },
      })
      try {
        const created = await createSuperuser(database.db, { email, password })
        console.log(`created superuser ${created.email} (id ${created.id}); sign in with the login mutation`)
      } finally {
        await database.destroy()
      }
    },
    { migrate: ['core'] },
  )
}

export { SuperuserError }
