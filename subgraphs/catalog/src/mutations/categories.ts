import {
  badUserInput,
  checkString,
  inTransaction,
  notFound,
  recordAudit,
  requireSomeField,
  slugify,
  updateAudited,
  userError,
} from '@pm/service-kit'
import { normaliseRules } from '../completeness'
import type { Context } from '../context'
import { categorySlug, categoryWithSlug, insertCategory } from '../db/categories'
import { toCategory } from '../db/mappers'
import { CATEGORY_TREE_LOCK, type CatalogTrx, lockKeys, parentCheck, takenSlugs } from '../db/writes'
import type { CreateCategoryInput, MutationResolvers, UpdateCategoryInput } from '../generated/graphql'
import { checkSlug, notNull } from '../validation'

const MAX_SLUG = 255

function categoryColumns(input: CreateCategoryInput | UpdateCategoryInput) {
  const columns = {
    name:
      input.name === undefined
        ? undefined
        : checkString('input.name', notNull('input.name', input.name)!, { max: 255 }),
    slug: input.slug === undefined ? undefined : checkSlug('input.slug', input.slug),
    parent_id: input.parentId,
    is_active: notNull('input.isActive', input.isActive),
    completeness_required:
      input.completenessRules === undefined ? undefined : normaliseRules(input.completenessRules),
  }
  return Object.fromEntries(Object.entries(columns).filter(([, v]) => v !== undefined)) as Partial<
    typeof columns
  >
}

async function checkSlugFree(trx: CatalogTrx, slug: string | null | undefined, exceptId: string | null) {
  if (!slug) return
  const other = await categoryWithSlug(trx, slug, exceptId)
  if (other) {
    throw userError('CONFLICT', `input.slug: category ${other.id} already has slug "${slug}"`, {
      field: 'input.slug',
    })
  }
}

/**
 * A free slug from the name, under the parent's slug as the demo data writes them ("informatique--portables");
 * "-2", "-3", … is appended when taken.
 */
async function generateSlug(trx: CatalogTrx, name: string, parentSlug: string | null) {
  const own = slugify(name) || 'category'
  const base = (parentSlug ? `${parentSlug}--${own}` : own).slice(0, MAX_SLUG - 6).replace(/-+$/, '')
  const taken = await takenSlugs(trx, base)
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`
}

/** The new parent must exist and must not be the category itself or one of its descendants. */
async function checkParent(trx: CatalogTrx, id: string | null, parentId: string, field: string) {
  const { found, cycle } = await parentCheck(trx, id, parentId)
  if (!found) throw notFound(`${field}: no category has this id`, { field })
  if (cycle) {
    throw badUserInput(
      `${field}: category ${parentId} is ${parentId === id ? 'the category itself' : 'one of its descendants'}; a category cannot become its own ancestor`,
      { field },
    )
  }
}

async function updateCategory(
  ctx: Context,
  id: string,
  columns: ReturnType<typeof categoryColumns>,
  parentField: string,
) {
  return inTransaction(ctx, async (trx) => {
    // Moves are serialised: two concurrent moves could each pass the cycle check and build a cycle together.
    if (columns.parent_id !== undefined) await lockKeys(trx, [CATEGORY_TREE_LOCK])
    const { row } = await updateAudited(trx, {
      table: 'categories',
      id,
      notFound: () => notFound('id: no category has this id', { field: 'id' }),
      values: () => columns,
      check: async (changes) => {
        if (changes.parent_id) await checkParent(trx, id, changes.parent_id as string, parentField)
        await checkSlugFree(trx, changes.slug as string | null | undefined, id)
      },
      view: toCategory,
      audit: {
        entityType: 'category',
        action: (changes) =>
          changes.parent_id !== undefined && Object.keys(changes).length === 1 ? 'move' : 'update',
        userId: ctx.caller.userId,
      },
    })
    return toCategory(row)
  })
}

export const categoryMutations = {
  createCategory: (_, { input }, ctx) => {
    const columns = categoryColumns(input)
    return inTransaction(ctx, async (trx) => {
      // Serialised with moves (a parent moving meanwhile) and with other creates (generated slugs).
      await lockKeys(trx, [CATEGORY_TREE_LOCK])
      let parentSlug: string | null = null
      if (columns.parent_id) {
        const parent = await categorySlug(trx, columns.parent_id)
        if (!parent) throw notFound('input.parentId: no category has this id', { field: 'input.parentId' })
        parentSlug = parent.slug
      }
      if (columns.slug) await checkSlugFree(trx, columns.slug, null)
      const slug =
        columns.slug !== undefined ? columns.slug : await generateSlug(trx, columns.name!, parentSlug)
      const row = await insertCategory(trx, { ...columns, name: columns.name!, slug })
      const category = toCategory(row)
      await recordAudit(trx, {
        action: 'create',
        entityType: 'category',
        entityId: row.id,
        userId: ctx.caller.userId,
        changes: { after: category },
      })
      return category
    })
  },

  updateCategory: (_, { id, input }, ctx) => {
    requireSomeField('input', input as Record<string, unknown>)
    return updateCategory(ctx, id, categoryColumns(input), 'input.parentId')
  },

  moveCategory: (_, { id, parentId }, ctx) =>
    updateCategory(ctx, id, { parent_id: parentId ?? null }, 'parentId'),
} satisfies MutationResolvers
