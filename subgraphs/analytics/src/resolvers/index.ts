import { Product } from './Product'
import { Query } from './Query'
import { AiUsageLog, AuditLog, Report } from './Report'
import { Supplier } from './Supplier'

export const resolvers = { Query, Report, AuditLog, AiUsageLog, Product, Supplier }
