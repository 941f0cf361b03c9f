/**
 * Text input rules, applied once to every argument of every subgraph field before its resolver runs
 * (buildSchema wraps the resolvers, like authorization.ts), so no string reaches SQL unchecked:
 *
 *   - NUL (U+0000) is refused in every String, ID and EmailAddress argument and input field, and in every key
 *     and string value of a JSON / JSONObject input (PostgreSQL stores no NUL in text or jsonb);
 *   - control and bidirectional formatting characters are refused in String, ID and EmailAddress inputs: C0
 *     controls other than tab, line feed and carriage return, DEL, C1 controls (ESC sequences included),
 *     U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069. They are refused, not stripped: the caller
 *     learns which field to fix and nothing is changed silently. An input field quoting raw data (a cell
 *     of a supplier's file) may keep them with @text(allowControls: true); NUL stays refused;
 *   - every String, ID and EmailAddress input is at most DEFAULT_MAX_LENGTH characters (code points, as
 *     PostgreSQL counts VARCHAR(n)), connection cursors (after / before on a field returning a …Connection)
 *     CURSOR_MAX_LENGTH, unless the schema declares @text(maxLength: n) on the argument or input field
 *     (the column's size, or a larger bound for free text such as descriptions and messages). A field
 *     nobody declared gets the default: a new argument cannot escape the bound.
 *
 * Errors are BAD_USER_INPUT with extensions.field, the input path (`sku`, `input.title`, `rows[17].title`,
 * `input.config.headers.x`), and extensions.maxLength for an over-long value.
 *
 * Bulk arguments: an argument declared @rows (a list of independent rows) is not refused as a whole: each
 * row is checked alone and a failing row's error is kept for the resolver, which reports that row as it
 * reports its other per-row failures (rowInputError) and writes the others.
 *
 * JSON values are data, not display text: only NUL is refused in them; their size is bounded by the
 * resolvers (checkJsonObject).
 */
import {
  defaultFieldResolver,
  type GraphQLArgument,
  type GraphQLError,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isObjectType,
  isScalarType,
  type ValueNode,
} from 'graphql'
import { badUserInput } from './errors'

/** Identifiers, codes, names, filters: whatever declares no @text(maxLength). */
export const DEFAULT_MAX_LENGTH = 255
/** after / before of a connection: an opaque cursor that embeds a sort value (a title can be 500 characters). */
export const CURSOR_MAX_LENGTH = 4_096

/** Scalars whose inputs are text (checked for NUL, controls and length). */
const TEXT_SCALARS = new Set(['String', 'ID', 'EmailAddress'])
/** Scalars whose inputs are JSON documents (checked for NUL in keys and string values). */
const JSON_SCALARS = new Set(['JSON', 'JSONObject'])

export interface TextRule {
  maxLength: number
  /** Control and bidi characters allowed (raw data quoted as received); NUL never is. */
  allowControls: boolean
}

export const DEFAULT_TEXT_RULE: TextRule = { maxLength: DEFAULT_MAX_LENGTH, allowControls: false }

/** C0 except tab, line feed and carriage return, DEL, C1, Arabic letter mark, LRM/RLM, embeddings, overrides, isolates. */
function isRefusedControl(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  )
}

function firstControl(value: string): number | null {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (isRefusedControl(code)) return code
  }
  return null
}

/** The number of code points of value, counted only as far as needed to compare with max. */
function longerThan(value: string, max: number): number | null {
  if (value.length <= max) return null
  let count = 0
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    // A surrogate pair is one character.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    count++
  }
  return count > max ? count : null
}

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`

/** Whether value breaks the rule (the cheap question; textInputError says how, naming the field). */
function textRefused(value: string, rule: TextRule): boolean {
  return (
    longerThan(value, rule.maxLength) !== null ||
    value.includes('\u0000') ||
    (!rule.allowControls && firstControl(value) !== null)
  )
}

/** The refusal of one text value, or null when it passes the rule. */
export function textInputError(field: string, value: string, rule: TextRule = DEFAULT_TEXT_RULE) {
  const length = longerThan(value, rule.maxLength)
  if (length !== null) {
    return badUserInput(`${field} is ${length} characters long; at most ${rule.maxLength} are allowed`, {
      field,
      maxLength: rule.maxLength,
    })
  }
  if (value.includes('\u0000')) {
    return badUserInput(`${field} contains a NUL character (U+0000); remove it`, { field })
  }
  if (!rule.allowControls) {
    const control = firstControl(value)
    if (control !== null) {
      return badUserInput(
        `${field} contains the control character ${hex(control)}; text may hold tabs and line breaks ` +
          'but no other control or bidirectional formatting characters',
        { field },
      )
    }
  }
  return null
}

/** Throws BAD_USER_INPUT naming field when value breaks the rule (see textInputError). */
export function checkInputText(field: string, value: string, rule: TextRule = DEFAULT_TEXT_RULE): string {
  const error = textInputError(field, value, rule)
  if (error) throw error
  return value
}

const MAX_KEY_IN_PATH = 64

function keyPath(path: string, key: string): string {
  const shown = key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key
  return /^[A-Za-z_$][\w$]*$/.test(shown) ? `${path}.${shown}` : `${path}[${JSON.stringify(shown)}]`
}

/**
 * The first NUL in a JSON value (a key or a string, at any depth), as BAD_USER_INPUT naming its path; null
 * when there is none. Iterative: a deeply nested document cannot overflow the stack.
 */
export function jsonInputError(field: string, value: unknown): GraphQLError | null {
  const stack: [string, unknown][] = [[field, value]]
  while (stack.length > 0) {
    const [path, current] = stack.pop()!
    if (typeof current === 'string') {
      if (current.includes('\u0000')) {
        return badUserInput(`${path} contains a NUL character (U+0000); remove it`, { field: path })
      }
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([`${path}[${i}]`, current[i]])
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current)
      for (const [key] of entries) {
        if (key.includes('\u0000')) {
          return badUserInput(`${path} has a key containing a NUL character (U+0000); remove it`, {
            field: path,
          })
        }
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!
        stack.push([keyPath(path, key), child])
      }
    }
  }
  return null
}

/** Whether a JSON value holds a NUL in a key or a string at any depth (jsonInputError says where). */
function jsonHoldsNul(value: unknown): boolean {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const current = stack.pop()
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return true
    } else if (Array.isArray(current)) {
      for (const item of current) stack.push(item)
    } else if (current !== null && typeof current === 'object') {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue
        if (key.includes('\u0000')) return true
        stack.push((current as Record<string, unknown>)[key])
      }
    }
  }
  return false
}

type Declared = GraphQLArgument | GraphQLInputField

function directiveArgument(
  node: { arguments?: readonly { name: { value: string }; value: ValueNode }[] },
  name: string,
) {
  return node.arguments?.find((a) => a.name.value === name)?.value
}

const rules = new WeakMap<Declared, TextRule>()

/** The rule of an argument or input field: its @text, else the cursor or the general default. */
export function textRuleOf(declared: Declared, cursor = false): TextRule {
  const known = rules.get(declared)
  if (known) return known
  const directive = declared.astNode?.directives?.find((d) => d.name.value === 'text')
  const rule: TextRule = {
    maxLength: cursor ? CURSOR_MAX_LENGTH : DEFAULT_MAX_LENGTH,
    allowControls: false,
  }
  if (directive) {
    const max = directiveArgument(directive, 'maxLength')
    if (max?.kind === 'IntValue') rule.maxLength = Number(max.value)
    const controls = directiveArgument(directive, 'allowControls')
    if (controls?.kind === 'BooleanValue') rule.allowControls = controls.value
  }
  rules.set(declared, rule)
  return rule
}

function hasDirective(declared: Declared, name: string) {
  return declared.astNode?.directives?.some((d) => d.name.value === name) ?? false
}

/** Whether values of this input type can hold text or JSON anywhere inside. */
function holdsText(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type)
  if (isScalarType(named)) return TEXT_SCALARS.has(named.name) || JSON_SCALARS.has(named.name)
  if (!isInputObjectType(named) || seen.has(named.name)) return false
  seen.add(named.name)
  return Object.values(named.getFields()).some((f) => holdsText(f.type, seen))
}

/** Whether a value passes every rule of its input type (see inputError, which finds and names the refusal). */
type Passes = (value: unknown) => boolean

const passesOf = new WeakMap<Declared, Map<string, Passes>>()

/**
 * The check of values of `type` declared by `declared`, worked out once from the schema: which fields can hold
 * text, and each one's rule. It builds no path and no error, so a bulk argument of thousands of rows costs a
 * pass over their strings; inputError runs only on a value that fails, to say where and why. The two walk the
 * same types with the same rules (textRefused is textInputError's test; jsonHoldsNul, jsonInputError's).
 */
function passesFor(type: GraphQLInputType, declared: Declared, cursor: boolean): Passes {
  let byType = passesOf.get(declared)
  if (!byType) {
    byType = new Map()
    passesOf.set(declared, byType)
  }
  const key = `${String(type)}|${cursor}`
  const known = byType.get(key)
  if (known) return known
  // Set before it is built: an input type that holds itself (directly or not) reaches this same check.
  let built: Passes = () => true
  const passes: Passes = (value) => built(value)
  byType.set(key, passes)
  built = buildPasses(type, declared, cursor)
  return passes
}

function buildPasses(type: GraphQLInputType, declared: Declared, cursor: boolean): Passes {
  const nullable = getNullableType(type)
  if (isListType(nullable)) {
    const item = passesFor(nullable.ofType, declared, cursor)
    return (value) => {
      if (value === null || value === undefined) return true
      if (!Array.isArray(value)) return item(value)
      for (let i = 0; i < value.length; i++) if (!item(value[i])) return false
      return true
    }
  }
  if (isInputObjectType(nullable)) {
    const fields = Object.values(nullable.getFields())
      .filter((field) => holdsText(field.type))
      .map((field) => ({ name: field.name, passes: passesFor(field.type, field, false) }))
    return (value) => {
      if (value === null || value === undefined) return true
      const record = value as Record<string, unknown>
      for (const field of fields) {
        const child = record[field.name]
        if (child !== undefined && !field.passes(child)) return false
      }
      return true
    }
  }
  if (isScalarType(nullable)) {
    if (TEXT_SCALARS.has(nullable.name)) {
      const rule = textRuleOf(declared, cursor)
      return (value) => typeof value !== 'string' || !textRefused(value, rule)
    }
    if (JSON_SCALARS.has(nullable.name))
      return (value) => value === null || value === undefined || !jsonHoldsNul(value)
  }
  return () => true
}

/** The first refusal in value, an input of type declared by declared (an argument or input field). */
function inputError(
  type: GraphQLInputType,
  value: unknown,
  path: string,
  declared: Declared,
  cursor: boolean,
): GraphQLError | null {
  if (value === null || value === undefined) return null
  const nullable = getNullableType(type)
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return inputError(nullable.ofType, value, path, declared, cursor)
    for (let i = 0; i < value.length; i++) {
      const error = inputError(nullable.ofType, value[i], `${path}[${i}]`, declared, cursor)
      if (error) return error
    }
    return null
  }
  if (isInputObjectType(nullable)) {
    const record = value as Record<string, unknown>
    for (const field of Object.values(nullable.getFields())) {
      if (record[field.name] === undefined || !holdsText(field.type)) continue
      const error = inputError(field.type, record[field.name], `${path}.${field.name}`, field, false)
      if (error) return error
    }
    return null
  }
  if (isScalarType(nullable)) {
    if (TEXT_SCALARS.has(nullable.name) && typeof value === 'string') {
      return textInputError(path, value, textRuleOf(declared, cursor))
    }
    if (JSON_SCALARS.has(nullable.name)) return jsonInputError(path, value)
  }
  return null
}

/** Per-row refusals of @rows arguments, kept for the resolver (see rowInputError). */
const rowErrors = new WeakMap<object, GraphQLError>()

/**
 * The refusal of one row of a @rows argument (NUL, control character, length), or undefined when the row
 * passed. The resolver of a bulk mutation calls it on each row and reports the row as failed.
 */
export function rowInputError(row: object): GraphQLError | undefined {
  return rowErrors.get(row)
}

interface ArgumentCheck {
  argument: GraphQLArgument
  cursor: boolean
  rows: boolean
}

function readChecks(
  coordinate: string,
  // biome-ignore lint/suspicious/noExplicitAny: any field of any type
  field: GraphQLField<any, any>,
): ArgumentCheck[] {
  const connection = getNamedType(field.type).name.endsWith('Connection')
  const checks: ArgumentCheck[] = []
  for (const argument of field.args) {
    const rows = hasDirective(argument, 'rows')
    if (rows) {
      const item = getNullableType(argument.type)
      if (!isListType(item) || !isInputObjectType(getNamedType(item.ofType))) {
        throw new Error(`${coordinate}(${argument.name}:): @rows applies to a list of input objects`)
      }
    }
    if (!holdsText(argument.type)) continue
    const cursor =
      connection &&
      (argument.name === 'after' || argument.name === 'before') &&
      !hasDirective(argument, 'text')
    checks.push({ argument, cursor, rows })
  }
  return checks
}

function checkTextDirectives(schema: GraphQLSchema) {
  const check = (coordinate: string, declared: Declared) => {
    if (!hasDirective(declared, 'text')) return
    const named = getNamedType(declared.type)
    if (!TEXT_SCALARS.has(named.name)) {
      throw new Error(`${coordinate}: @text applies to String, ID and EmailAddress inputs, not ${named.name}`)
    }
    const max = declared.astNode?.directives
      ?.find((d) => d.name.value === 'text')
      ?.arguments?.find((a) => a.name.value === 'maxLength')?.value
    if (max && (max.kind !== 'IntValue' || Number(max.value) < 1)) {
      throw new Error(`${coordinate}: @text(maxLength:) must be a positive integer`)
    }
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field)
    } else if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        for (const argument of field.args) check(`${type.name}.${field.name}(${argument.name}:)`, argument)
      }
    }
  }
}

/**
 * Wraps (in place) the resolver of every field whose arguments can hold text so the rules above run
 * before it; the directives are read once, here.
 */
export function applyInputRules(schema: GraphQLSchema): GraphQLSchema {
  checkTextDirectives(schema)
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue
    for (const field of Object.values(type.getFields())) {
      const checks = readChecks(`${type.name}.${field.name}`, field)
      if (checks.length === 0) continue
      // biome-ignore lint/suspicious/noExplicitAny: resolvers of any shape
      const resolve: GraphQLFieldResolver<any, any> = field.resolve ?? defaultFieldResolver
      const plans = checks.map(({ argument, cursor, rows }) => {
        const itemType = (getNullableType(argument.type) as { ofType: GraphQLInputType }).ofType
        return {
          argument,
          cursor,
          rows,
          itemType,
          passes: passesFor(argument.type, argument, cursor),
          rowPasses: rows ? passesFor(itemType, argument, false) : undefined,
        }
      })
      field.resolve = (source, args, context, info) => {
        for (const { argument, cursor, itemType, passes, rowPasses } of plans) {
          const value = (args as Record<string, unknown>)[argument.name]
          if (rowPasses && Array.isArray(value)) {
            for (let i = 0; i < value.length; i++) {
              const row = value[i]
              if (rowPasses(row)) continue
              const error = inputError(itemType, row, `${argument.name}[${i}]`, argument, false)
              if (error && row !== null && typeof row === 'object') rowErrors.set(row, error)
            }
            continue
          }
          if (passes(value)) continue
          const error = inputError(argument.type, value, argument.name, argument, cursor)
          if (error) throw error
        }
        return resolve(source, args, context, info)
      }
    }
  }
  return schema
}

/** The rule that applies to one argument of a field (for tests and documentation tools). */
export function argumentTextRule(
  // biome-ignore lint/suspicious/noExplicitAny: any field of any type
  field: GraphQLField<any, any>,
  argument: GraphQLArgument,
): TextRule {
  const connection = getNamedType(field.type).name.endsWith('Connection')
  const cursor =
    connection && (argument.name === 'after' || argument.name === 'before') && !hasDirective(argument, 'text')
  return textRuleOf(argument, cursor)
}
