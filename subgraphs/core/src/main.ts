import { runSubgraph } from '@pm/service-kit'
import { coreEnvironment } from './environment'
import { subgraph } from './module'

// This process's environment, read here once: core's own settings, then those of every subgraph.
const env = process.env
try {
  coreEnvironment(env)
} catch (error) {
  // A configuration mistake: the message names the variable, a stack trace would only hide it.
  process.stderr.write(`core cannot start: ${(error as Error).message}\n`)
  process.exit(1)
}
await runSubgraph(subgraph, env)
