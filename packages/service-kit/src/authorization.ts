/**
 * Who may call what, declared in each subgraph's schema.graphql and enforced here, once per field.
 *
 * Directives (declared in COMMON_SDL, so every subgraph has them the same way):
 *   @public                                   anonymous callers may use this Query/Mutation field
 *   @authenticated                            any signed-in caller: on a Query or Mutation field, a
 *     self-service operation that only touches the caller's own data (logoutEverywhere)
 *   @requiresPermission(permission: "resource:action")  the caller needs the permission (repeatable: all of them);
 *     with self: "<name>", a signed-in user also passes when the user id in the argument <name>, or else in
 *     the parent object's field <name>, is their own (changePassword(id), User.permissions, …).
 *   Named apart from federation's @requires(fields:), which a subgraph may import and use beside it.
 *
 * Default policy:
 *   - every Query and Mutation field without @public needs an authenticated caller (user, partner or
 *     service) → UNAUTHENTICATED otherwise; so do `_entities` and `_service` (the gateway's supergraph is
 *     static, nobody needs a subgraph's SDL at run time);
 *   - every Query and Mutation field carries @requiresPermission, @public or @authenticated (a read requires the
 *     read permission of the domain it returns, e.g. product:read): buildSchema throws at start-up naming
 *     the ones that do not, so no read or write ships without a decision (federation's own _entities and
 *     _service excepted);
 *   - a field that leads into another domain's data (Product.media, ImportJob.supplier, …) requires that
 *     domain's read permission too; refused, it is null and the rest of the answer stays;
 *   - @requiresPermission on any other field (User.permissions, ImportConfig.connectionConfig, …) is checked the same
 *     way and fails that field only → FORBIDDEN "… requires permission <p>", UNAUTHENTICATED if anonymous.
 *
 * Permission vocabulary (`resource:action`, PERMISSION_NAMES: the one list; the permissions table holds
 * exactly these, seeded by migrations/core):
 *   product      products and their parts: prices, stock, variants, EAN resolutions
 *   supplier     suppliers
 *   brand        brands
 *   category     the category tree
 *   import       import configurations, schedules, mapping templates, jobs and their logs
 *   export       export platforms, jobs and items
 *   media        media files and thumbnails
 *   code2asin    code2asin jobs and results
 *   analytics    metrics, reports, AI usage
 *   user         user accounts
 *   settings     app_settings (module switches included)
 *   role         roles, their grants and the permissions catalogue (not in the seed's roles: is_admin)
 *   apikey       partner API keys (not in the seed's roles: is_admin)
 *   notification anybody's notifications (one's own: self)
 *   audit        audit logs
 *   cost         money the seller keeps private: purchase costs, margins, purchase terms, AI usage costs
 *                (only cost:read is used)
 *   supplier_contact  suppliers' contact details: e-mail, phone, address, contact people (only
 *                supplier_contact:read is used)
 *   internal     internal:call — service-to-service fields (@inaccessible); only a SERVICE caller passes,
 *                not even a superuser user
 * Actions: create, read, update (deactivating is an update), delete, manage (every action on the
 * resource, see hasPermission): each is required by some field (a test reads every schema), so no grant
 * is a permission nothing checks. A permission outside this vocabulary fails the build: a typo would
 * otherwise lock a field for everyone but superusers; core refuses to create one.
 */
import {
  defaultFieldResolver,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLObjectType,
  type GraphQLSchema,
  isObjectType,
  type ValueNode,
} from 'graphql'
import { ErrorCode, userError } from './errors'
import { ANONYMOUS, type Caller, hasPermission } from './identity'

export const PERMISSION_RESOURCES = [
  'product',
  'supplier',
  'brand',
  'category',
  'import',
  'export',
  'media',
  'code2asin',
  'analytics',
  'user',
  'settings',
  'role',
  'apikey',
  'notification',
  'audit',
  'cost',
  'supplier_contact',
] as const
export const PERMISSION_ACTIONS = ['create', 'read', 'update', 'delete', 'manage'] as const
export type PermissionResource = (typeof PERMISSION_RESOURCES)[number]
export type PermissionAction = (typeof PERMISSION_ACTIONS)[number]

/**
 * Every permission there is: PERMISSION_RESOURCES × PERMISSION_ACTIONS as `resource:action`, resource by
 * resource. The permissions table holds exactly these (a migration seeds them); no wildcard exists.
 */
export const PERMISSION_NAMES: readonly string[] = PERMISSION_RESOURCES.flatMap((resource) =>
  PERMISSION_ACTIONS.map((action) => `${resource}:${action}`),
)
const KNOWN_PERMISSIONS = new Set(PERMISSION_NAMES)

/** Whether a value is a permission of the vocabulary (`resource:action`, no wildcard). */
export const isPermissionName = (value: unknown): value is string =>
  typeof value === 'string' && KNOWN_PERMISSIONS.has(value)
/** Service-to-service fields: only a caller of kind service passes. */
export const INTERNAL_PERMISSION = 'internal:call'

export interface Requirement {
  permission: string
  /** The argument holding a user id that, when it is the caller's own, passes too. */
  selfArgument?: string
  /** The parent object's field holding a user id that, when it is the caller's own, passes too. */
  selfField?: string
}

/** What one field demands, read from its directives once at build time. */
export interface FieldPolicy {
  coordinate: string
  public: boolean
  /** Root fields (and _entities/_service) need a caller who is not anonymous. */
  authenticated: boolean
  /** @public, @authenticated or @requiresPermission is written on the field (every Mutation field must be). */
  declared: boolean
  requirements: Requirement[]
}

function stringArgument(
  node: { arguments?: readonly { name: { value: string }; value: ValueNode }[] },
  name: string,
) {
  const argument = node.arguments?.find((a) => a.name.value === name)
  return argument?.value.kind === 'StringValue' ? argument.value.value : undefined
}

function checkPermissionName(coordinate: string, permission: string): void {
  if (permission === INTERNAL_PERMISSION) return
  if (!isPermissionName(permission)) {
    throw new Error(
      `${coordinate}: @requiresPermission(permission: "${permission}") is not in the vocabulary ` +
        `(resources: ${PERMISSION_RESOURCES.join(', ')}; actions: ${PERMISSION_ACTIONS.join(', ')}; ` +
        `or ${INTERNAL_PERMISSION}); see authorization.ts`,
    )
  }
}

function readPolicy(
  type: GraphQLObjectType,
  // biome-ignore lint/suspicious/noExplicitAny: any field of any type
  field: GraphQLField<any, any>,
  root: boolean,
): FieldPolicy {
  const coordinate = `${type.name}.${field.name}`
  const directives = field.astNode?.directives ?? []
  const isPublic = directives.some((d) => d.name.value === 'public')
  const isAuthenticated = directives.some((d) => d.name.value === 'authenticated')
  const requirements: Requirement[] = []
  for (const directive of directives) {
    if (directive.name.value !== 'requiresPermission') continue
    const permission = stringArgument(directive, 'permission')
    if (permission === undefined)
      throw new Error(`${coordinate}: @requiresPermission takes a literal permission`)
    checkPermissionName(coordinate, permission)
    const self = stringArgument(directive, 'self')
    const requirement: Requirement = { permission }
    if (self !== undefined) {
      if (permission === INTERNAL_PERMISSION)
        throw new Error(`${coordinate}: ${INTERNAL_PERMISSION} takes no self`)
      if (field.args.some((a) => a.name === self)) requirement.selfArgument = self
      else if (!root && type.getFields()[self]) requirement.selfField = self
      else
        throw new Error(
          `${coordinate}: @requiresPermission(self: "${self}") names neither an argument nor a field of ${type.name}`,
        )
    }
    requirements.push(requirement)
  }
  if ((isPublic || isAuthenticated) && !root) {
    throw new Error(
      `${coordinate}: @public and @authenticated only apply to Query and Mutation fields (others follow their parent)`,
    )
  }
  if (isPublic && (requirements.length > 0 || isAuthenticated)) {
    throw new Error(`${coordinate}: @public contradicts @requiresPermission and @authenticated`)
  }
  if (isAuthenticated && requirements.length > 0) {
    throw new Error(
      `${coordinate}: @requiresPermission already needs a signed-in caller; drop @authenticated`,
    )
  }
  return {
    coordinate,
    public: isPublic,
    authenticated: root && !isPublic,
    declared: isPublic || isAuthenticated || requirements.length > 0,
    requirements,
  }
}

function denied(policy: FieldPolicy, caller: Caller, permission?: string) {
  if (caller.kind === 'anonymous') {
    return userError(ErrorCode.UNAUTHENTICATED, `${policy.coordinate} requires a signed-in caller`)
  }
  return userError(ErrorCode.FORBIDDEN, `${policy.coordinate} requires permission ${permission}`, {
    permission,
  })
}

/** Set (by provenAsOwn) on a user object the request itself has just authenticated. */
const PROVEN_OWN = Symbol('proven own user')

/**
 * Marks a user object as the one this request proved to be (a sign-in or a refresh, whose caller is still
 * anonymous): its self-guarded fields (User.email, …) pass as they would for that user's own token. A symbol
 * no client input can carry.
 */
export function provenAsOwn<T extends object>(user: T): T {
  Object.defineProperty(user, PROVEN_OWN, { value: true, enumerable: false })
  return user
}

function isSelf(
  requirement: Requirement,
  caller: Caller,
  source: unknown,
  args: Record<string, unknown>,
): boolean {
  if (
    requirement.selfField &&
    typeof source === 'object' &&
    source !== null &&
    (source as Record<symbol, unknown>)[PROVEN_OWN] === true
  ) {
    return true
  }
  // Only people act for themselves: a partner key is not its creator.
  if (caller.kind !== 'user' || !caller.userId) return false
  // Arguments were lower-cased by the UUID scalar; parent fields and the caller's id come as PostgreSQL prints them.
  const value = requirement.selfArgument
    ? args[requirement.selfArgument]
    : requirement.selfField
      ? (source as Record<string, unknown> | null)?.[requirement.selfField]
      : undefined
  return typeof value === 'string' && value === caller.userId
}

/** The error that refuses this call, or null when the caller may go on. */
export function authorize(
  policy: FieldPolicy,
  caller: Caller,
  source: unknown = undefined,
  args: Record<string, unknown> = {},
) {
  if (policy.public) return null
  if (caller.kind === 'anonymous' && policy.authenticated) return denied(policy, caller)
  // An anonymous caller holds no permission: only a user object the request proved its own passes.
  for (const requirement of policy.requirements) {
    const granted =
      requirement.permission === INTERNAL_PERMISSION
        ? caller.kind === 'service'
        : hasPermission(caller, requirement.permission) || isSelf(requirement, caller, source, args)
    if (!granted) return denied(policy, caller, requirement.permission)
  }
  return null
}

/** Added by buildSubgraphSchema; they need a signed-in caller (the default of root fields). */
const FEDERATION_ROOT_FIELDS = new Set(['_entities', '_service'])

/** The policy of every root field and of every field with a directive, keyed Type.field. */
export function authorizationPolicies(schema: GraphQLSchema): Map<string, FieldPolicy> {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()])
  const policies = new Map<string, FieldPolicy>()
  const unguarded: string[] = []
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue
    const root = roots.has(type)
    for (const field of Object.values(type.getFields())) {
      const policy = readPolicy(type, field, root)
      if (
        (type === schema.getMutationType() || type === schema.getQueryType()) &&
        !policy.declared &&
        !FEDERATION_ROOT_FIELDS.has(field.name)
      ) {
        unguarded.push(policy.coordinate)
      }
      if (policy.declared || policy.authenticated) policies.set(policy.coordinate, policy)
    }
  }
  if (unguarded.length > 0) {
    throw new Error(
      'every query and mutation declares who may call it: add @requiresPermission(permission: "resource:action") ' +
        `(or @public, or @authenticated for self-service) to ` +
        `${unguarded.join(', ')} (see packages/service-kit/src/authorization.ts)`,
    )
  }
  return policies
}

/**
 * Wraps the resolvers of the guarded fields (in place) so each call is checked against its policy,
 * computed here once: a request costs one small check per guarded field, no schema walking.
 */
export function applyAuthorization(schema: GraphQLSchema): GraphQLSchema {
  for (const [coordinate, policy] of authorizationPolicies(schema)) {
    if (policy.public) continue
    const [typeName, fieldName] = coordinate.split('.') as [string, string]
    const field = (schema.getType(typeName) as GraphQLObjectType).getFields()[fieldName]
    if (!field) continue
    // biome-ignore lint/suspicious/noExplicitAny: resolvers of any shape
    const resolve: GraphQLFieldResolver<any, any> = field.resolve ?? defaultFieldResolver
    field.resolve = (source, args, context, info) => {
      const refusal = authorize(
        policy,
        (context as { caller?: Caller } | undefined)?.caller ?? ANONYMOUS,
        source,
        args,
      )
      if (refusal) throw refusal
      return resolve(source, args, context, info)
    }
  }
  return schema
}
