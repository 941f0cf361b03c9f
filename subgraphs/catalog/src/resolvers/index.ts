import { CompletenessSummaryRow } from '../completeness'
import { Brand } from './Brand'
import { Category } from './Category'
import { enums } from './enums'
import { Mutation, ProductUpsertResult, ProductUpsertRowResult } from './Mutation'
import { EanResolution, Product, ProductPrice, ProductVariant } from './Product'
import { Query } from './Query'
import { Supplier } from './Supplier'

export const resolvers = {
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
