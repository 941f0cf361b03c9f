import { enums } from './enums'
import { Mutation } from './Mutation'
import { Product } from './Product'
import { Query } from './Query'
import { AiUsageLog, AuditLog, Report } from './Report'
import { Supplier } from './Supplier'

export const resolvers = { Query, Mutation, Report, AuditLog, AiUsageLog, Product, Supplier, ...enums }
