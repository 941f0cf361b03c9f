import { ImportConfig, ImportSchedule } from './ImportConfig'
import { ImportJob } from './ImportJob'
import { Query } from './Query'
import { Supplier } from './Supplier'

export const resolvers = { Query, ImportJob, ImportConfig, ImportSchedule, Supplier }
