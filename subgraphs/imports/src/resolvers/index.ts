import type { SubgraphResolvers } from '../generated/graphql'
import { enums } from './enums'
import { ImportConfig, ImportSchedule } from './ImportConfig'
import { ImportJob } from './ImportJob'
import { Mutation } from './Mutation'
import { Query } from './Query'
import { Supplier } from './Supplier'

export const resolvers: SubgraphResolvers = {
  Query,
  Mutation,
  ImportJob,
  ImportConfig,
  ImportSchedule,
  Supplier,
  ...enums,
}
