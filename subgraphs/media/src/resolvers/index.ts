import type { SubgraphResolvers } from '../generated/graphql'
import { enums } from './enums'
import { MediaFile, MediaThumbnail } from './MediaFile'
import { Mutation } from './Mutation'
import { Product } from './Product'
import { Query } from './Query'

export const resolvers: SubgraphResolvers = { Query, Mutation, MediaFile, MediaThumbnail, Product, ...enums }
