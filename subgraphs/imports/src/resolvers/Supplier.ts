import { mapConnection } from '@pm/service-kit'
import { toImportJob } from '../db/mappers'
import type { SupplierResolvers } from '../generated/graphql'

/** catalog owns Supplier: any code is taken as is, existence is catalog's to decide. */
export const Supplier = {
  __resolveReference: (ref) => ({ code: ref.code }),
  importConfigs: (supplier, _, ctx) => ctx.loaders.configsBySupplierCode.load(supplier.code),
  importJobs: async (supplier, { status, first, after }, ctx) =>
    mapConnection(
      await ctx.loaders.jobsBySupplierCode.for({ status: status ?? null, first, after }).load(supplier.code),
      toImportJob,
    ),
} satisfies SupplierResolvers
