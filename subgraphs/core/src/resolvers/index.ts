import { AppSetting } from './AppSetting'
import { Mutation } from './Mutation'
import { Query } from './Query'
import { Role, User } from './User'

export const resolvers = { Query, Mutation, User, Role, AppSetting }
