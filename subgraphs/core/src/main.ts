import { runSubgraph } from '@pm/service-kit'
import { coreEnvironment } from './environment'
import { subgraph } from './module'

try {
  coreEnvironment()
} catch (error) {
  // A configuration mistake: the message names the variable, a stack trace would only hide it.
  process.stderr.write(`core cannot start: ${(error as Error).message}\n`)
  process.exit(1)
}
await runSubgraph(subgraph)
