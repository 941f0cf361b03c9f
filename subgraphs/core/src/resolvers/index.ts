import { Query } from './Query'
import { Role, User } from './User'

export const resolvers = { Query, User, Role }
