import { ExportJob, ExportJobItem } from './ExportJob'
import { ExportPlatform } from './ExportPlatform'
import { Product } from './Product'
import { Query } from './Query'

export const resolvers = { Query, ExportPlatform, ExportJob, ExportJobItem, Product }
