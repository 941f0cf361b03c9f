import { DOMAINS } from '@pm/db'
import {
  DEFAULT_PAGE_SIZE,
  INTERNAL_PERMISSION,
  loadTypeDefs,
  PERMISSION_ACTIONS,
  PERMISSION_RESOURCES,
} from '@pm/service-kit'
import { isInterfaceType, isObjectType, Kind, visit } from 'graphql'
import { describe, expect, it } from 'vitest'
import { apiSchemaOf } from '../src/api-reference'
import { readSupergraphFile, subgraphSchemaFile } from '../src/compose'

// The shared vocabularies (packages/service-kit) against what the schemas say, so neither can drift alone.

/** Every permission some field of some subgraph requires (@requiresPermission), internal:call aside. */
function requiredPermissions(): Set<string> {
  const found = new Set<string>()
  for (const domain of DOMAINS) {
    visit(loadTypeDefs(subgraphSchemaFile(domain)), {
      Directive(node) {
        if (node.name.value !== 'requiresPermission') return
        const argument = node.arguments?.find((a) => a.name.value === 'permission')
        if (argument?.value.kind === Kind.STRING && argument.value.value !== INTERNAL_PERMISSION)
          found.add(argument.value.value)
      },
    })
  }
  return found
}

describe('the permission vocabulary', () => {
  it('has only actions some field requires, and every resource is required by some field', () => {
    const required = [...requiredPermissions()]
    const actions = new Set(required.map((p) => p.split(':')[1]))
    const resources = new Set(required.map((p) => p.split(':')[0]))
    expect([...actions].sort()).toEqual([...PERMISSION_ACTIONS].sort())
    expect([...resources].sort()).toEqual([...PERMISSION_RESOURCES].sort())
  })
})

describe('the page size', () => {
  it('every `first` argument of the public schema defaults to DEFAULT_PAGE_SIZE, the constant the code uses', () => {
    const schema = apiSchemaOf(readSupergraphFile())
    const defaults: Record<string, unknown> = {}
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue
      for (const field of Object.values(type.getFields()))
        for (const argument of field.args)
          if (argument.name === 'first') defaults[`${type.name}.${field.name}`] = argument.defaultValue
    }
    expect(Object.keys(defaults).length).toBeGreaterThan(20)
    const other = Object.entries(defaults).filter(([, value]) => value !== DEFAULT_PAGE_SIZE)
    expect(other).toEqual([])
  })
})
