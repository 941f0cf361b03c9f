import { AppSetting } from './AppSetting'
import { ApiKey } from './auth'
import { Mutation } from './Mutation'
import { Query } from './Query'
import { Role, User } from './User'

export const resolvers = { Query, Mutation, User, Role, AppSetting, ApiKey }
