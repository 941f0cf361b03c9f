import { runSubgraph } from '@pm/service-kit'
import { subgraph } from './module'

await runSubgraph(subgraph, process.env)
