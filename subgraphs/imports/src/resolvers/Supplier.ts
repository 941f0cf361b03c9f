import { mapConnection, type PageArgs } from '@pm/service-kit'
import type { Context } from '../context'
import { toImportJob } from '../db/mappers'
import type { SupplierResolvers } from '../generated/graphql'

/** catalog owns Supplier: any code is taken as is, existence is catalog's to decide. */
export const Supplier = {
  __resolveReference: (ref: { code: string }) => ({ code: ref.code }),
  importConfigs: (supplier: { code: string }, _: unknown, ctx: Context) =>
    ctx.loaders.configsBySupplierCode.load(supplier.code),
  importJobs: async (
    supplier: { code: string },
    { status, first, after }: PageArgs & { status?: string | null },
    ctx: Context,
  ) =>
    mapConnection(
      await ctx.loaders.jobsBySupplierCode.for({ status: status ?? null, first, after }).load(supplier.code),
      toImportJob,
    ),
} satisfies SupplierResolvers
