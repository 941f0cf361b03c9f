import type { SubgraphResolvers } from '../generated/graphql'
import { enums } from './enums'
import { Mutation } from './Mutation'
import { Product } from './Product'
import { Query } from './Query'
import { AiUsageLog, AuditLog, Report } from './Report'
import { Supplier } from './Supplier'

export const resolvers: SubgraphResolvers = {
  Query,
  Mutation,
  Report,
  AuditLog,
  AiUsageLog,
  Product,
  Supplier,
  ...enums,
}
