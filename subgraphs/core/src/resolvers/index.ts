import type { SubgraphResolvers } from '../generated/graphql'
import { operationMutations, operationQueries } from '../operations/resolvers'
import { AppSetting } from './AppSetting'
import { ApiKey } from './auth'
import { enums } from './enums'
import { Mutation } from './Mutation'
import { Query } from './Query'
import { Role, User } from './User'

export const resolvers: SubgraphResolvers = {
  Query: { ...Query, ...operationQueries },
  Mutation: { ...Mutation, ...operationMutations },
  User,
  Role,
  AppSetting,
  ApiKey,
  ...enums,
}
