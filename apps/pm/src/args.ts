import { DOMAINS, type Domain, isDomain } from '@pm/db'

export class UsageError extends Error {
  override name = 'UsageError'
}

export interface ParsedArgs {
  positionals: string[]
  flags: Map<string, string | true>
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = []
  const flags = new Map<string, string | true>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (inline !== undefined) flags.set(name, inline)
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(name, argv[++i]!)
    else flags.set(name, true)
  }
  return { positionals, flags }
}

export function domainsFlag(args: ParsedArgs): Domain[] {
  const value = args.flags.get('domain')
  if (value === undefined) return [...DOMAINS]
  if (value === true || !isDomain(value)) {
    throw new UsageError(`--domain must be one of ${DOMAINS.join(', ')}`)
  }
  return [value]
}

export function intFlag(args: ParsedArgs, name: string): number | undefined {
  const value = args.flags.get(name)
  if (value === undefined) return undefined
  const n = Number(value)
  if (value === true || !Number.isInteger(n) || n < 0)
    throw new UsageError(`--${name} must be a non-negative integer`)
  return n
}
