import type { SubgraphResolvers } from '../generated/graphql'
import { Code2AsinJob } from './Code2AsinJob'
import { Code2AsinResult } from './Code2AsinResult'
import { enums } from './enums'
import { Mutation } from './Mutation'
import { Product } from './Product'
import { Query } from './Query'

export const resolvers: SubgraphResolvers = {
  Query,
  Mutation,
  Code2AsinJob,
  Code2AsinResult,
  Product,
  ...enums,
}
