import { Brand } from './Brand'
import { Category } from './Category'
import { EanResolution, Product, ProductPrice, ProductVariant } from './Product'
import { Query } from './Query'
import { Supplier } from './Supplier'

export const resolvers = {
  Query,
  Product,
  ProductPrice,
  ProductVariant,
  EanResolution,
  Supplier,
  Brand,
  Category,
}
