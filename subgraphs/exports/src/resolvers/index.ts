import type { SubgraphResolvers } from '../generated/graphql'
import { ExportJob, ExportJobItem } from './ExportJob'
import { ExportPlatform } from './ExportPlatform'
import { enums } from './enums'
import { Mutation } from './Mutation'
import { Product } from './Product'
import { Query } from './Query'

export const resolvers: SubgraphResolvers = {
  Query,
  Mutation,
  ExportPlatform,
  ExportJob,
  ExportJobItem,
  Product,
  ...enums,
}
