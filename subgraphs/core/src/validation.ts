import {
  badUserInput,
  checkEmail,
  checkString,
  MODULE_CATEGORY,
  MODULE_IDS,
  MODULE_KEY_PREFIX,
} from '@pm/service-kit'

/**
 * core's input rules, checked before SQL; every error names the GraphQL field path. Sizes are the
 * columns' (migrations/core/001_initial_schema.sql, 003_app_settings_and_api_keys.sql).
 */

/**
 * Emails are trimmed and lower-cased as a whole (local part included: mail providers treat it
 * case-insensitively, and one person must not hold two accounts by changing case). users.email VARCHAR(255).
 */
export function normalizeEmail(field: string, value: string): string {
  return checkEmail(field, value).toLowerCase()
}

/** users.username VARCHAR(100): 3 to 100 letters, digits, dots, dashes or underscores; case is kept. */
export function checkUsername(field: string, value: string | null | undefined): string | null {
  return checkString(field, value, {
    max: 100,
    min: 3,
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    patternHint:
      'may only hold letters, digits, dots, dashes and underscores, and start with a letter or digit',
  })
}

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 128

const CHARACTER_CLASSES = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u]

/**
 * Password policy: 10 to 128 characters (code points), no control characters, and at least two of the
 * classes lower-case letters, upper-case letters, digits, other characters. Never trimmed: spaces count.
 */
export function checkPassword(field: string, value: string): string {
  const length = [...value].length
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw badUserInput(
      `${field} must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long (it has ${length})`,
      { field },
    )
  }
  if (/\p{Cc}/u.test(value)) throw badUserInput(`${field} must not contain control characters`, { field })
  if (CHARACTER_CLASSES.filter((c) => c.test(value)).length < 2) {
    throw badUserInput(
      `${field} must mix at least two of: lower-case letters, upper-case letters, digits, other characters`,
      { field },
    )
  }
  return value
}

/** roles.name is VARCHAR(100) but users.role, which holds it, is VARCHAR(50): names fit both. */
export function normalizeRoleName(field: string, value: string): string {
  return checkString(field, value.toLowerCase(), {
    max: 50,
    pattern: /^[a-z][a-z0-9_-]*$/,
    patternHint: 'must start with a letter and hold only lower-case letters, digits, dashes and underscores',
  })
}

/** app_settings.key VARCHAR(255): [a-z0-9_.-], e.g. module.imports or catalog.default_currency. */
export function checkSettingKey(field: string, value: string): string {
  return checkString(field, value, {
    max: 255,
    pattern: /^[a-z0-9_.-]+$/,
    patternHint: 'may only hold lower-case letters, digits, dots, dashes and underscores',
  })
}

/** app_settings.category VARCHAR(50), same alphabet as keys. */
export function checkSettingCategory(field: string, value: string): string {
  return checkString(field, value, {
    max: 50,
    pattern: /^[a-z0-9_.-]+$/,
    patternHint: 'may only hold lower-case letters, digits, dots, dashes and underscores',
  })
}

export const MAX_SETTING_BYTES = 65_536

/**
 * A setting's value: any JSON up to 64 KiB. Module switches (category 'modules') are the rows
 * `module.<id>` of the 17 modules (docs/requirements.md#modules) with the value { "enabled": true | false }
 * and nothing else; `module.*` keys belong to that category only.
 */
export function checkSettingValue(key: string, category: string, value: unknown): unknown {
  if (value === undefined || value === null) {
    throw badUserInput('input.value is required (any JSON but null)', { field: 'input.value' })
  }
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_SETTING_BYTES) {
    throw badUserInput(`input.value is larger than ${MAX_SETTING_BYTES} bytes`, { field: 'input.value' })
  }
  const isModuleKey = key.startsWith(MODULE_KEY_PREFIX)
  if (category !== MODULE_CATEGORY) {
    if (isModuleKey) {
      throw badUserInput(`input.category must be '${MODULE_CATEGORY}' for a ${MODULE_KEY_PREFIX}* key`, {
        field: 'input.category',
      })
    }
    return value
  }
  const id = key.slice(MODULE_KEY_PREFIX.length)
  if (!isModuleKey || !(MODULE_IDS as readonly string[]).includes(id)) {
    throw badUserInput(
      `input.key: module settings are named ${MODULE_KEY_PREFIX}<id> with id one of ${MODULE_IDS.join(', ')}`,
      { field: 'input.key' },
    )
  }
  const shape = value as Record<string, unknown>
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    Object.keys(shape).length !== 1 ||
    typeof shape.enabled !== 'boolean'
  ) {
    throw badUserInput(
      'input.value of a module setting must be { "enabled": true } or { "enabled": false }',
      {
        field: 'input.value',
      },
    )
  }
  return { enabled: shape.enabled }
}
