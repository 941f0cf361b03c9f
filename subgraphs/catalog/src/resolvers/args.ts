import { badUserInput } from '@pm/service-kit'

const MAX_SEARCH_LENGTH = 200

/** A search term, trimmed; refused when so long it can only be a mistake. */
export function searchTerm(search: string | null | undefined, argument = 'filter.search'): string | null {
  const term = search?.trim()
  if (!term) return null
  if (term.length > MAX_SEARCH_LENGTH) {
    throw badUserInput(`${argument} must be at most ${MAX_SEARCH_LENGTH} characters`, { argument })
  }
  return term
}
