import { CompletenessSummaryRow } from '../completeness'
import type { SubgraphResolvers } from '../generated/graphql'
import { Brand } from './Brand'
import { Category } from './Category'
import { enums } from './enums'
import { Mutation, ProductUpsertResult, ProductUpsertRowResult } from './Mutation'
import { EanResolution, Product, ProductPrice, ProductVariant } from './Product'
import { Query } from './Query'
import { Supplier } from './Supplier'

export const resolvers: SubgraphResolvers = {
  Query,
  Mutation,
  ProductUpsertResult,
  ProductUpsertRowResult,
  Product,
  ProductPrice,
  ProductVariant,
  EanResolution,
  Supplier,
  Brand,
  Category,
  CompletenessSummaryRow,
  ...enums,
}
