import { badUserInput } from './errors'

/** GS1 mod-10 check digit over all digits but the last. */
function checkDigitOk(code: string): boolean {
  let sum = 0
  for (let i = code.length - 2, weight = 3; i >= 0; i--, weight = weight === 3 ? 1 : 3)
    sum += Number(code[i]) * weight
  return (10 - (sum % 10)) % 10 === Number(code[code.length - 1])
}

/** "3.01234567890e12" or "3012345678901.0" (a spreadsheet's rendering) back to digits, only when exact. */
function fromNumberForm(text: string): string | undefined {
  const match = /^(\d+)(?:[.,](\d*))?(?:e\+?(\d+))?$/i.exec(text)
  if (!match) return undefined
  const [, whole, fraction = '', exponent = '0'] = match
  const shift = Number(exponent)
  const digits = whole! + fraction
  const point = whole!.length + shift
  // Exact only when the written digits hold the whole code: no digit made up by the exponent,
  // no fractional digit dropped.
  if (point > digits.length || /[^0]/.test(digits.slice(point))) return undefined
  return digits.slice(0, point)
}

/**
 * EANs are strings, defended in depth (docs/requirements.md#ean-handling): spaces and dashes removed, a
 * float or exponent form from a spreadsheet recovered only when exact, 9–12 digits left-padded to an EAN-13
 * (a UPC-A or an EAN-13 that lost its leading zeros), GTIN-8/12/13/14 check digit verified. Throws
 * BAD_USER_INPUT saying why, with the field name.
 */
export function normalizeEan(input: string, field = 'ean'): string {
  const compact = input.trim().replace(/[\s-]/g, '')
  if (compact === '') throw badUserInput(`${field} is empty`, { field })
  let digits = compact
  if (!/^\d+$/.test(compact)) {
    const recovered = fromNumberForm(compact)
    if (recovered === undefined) {
      throw badUserInput(
        /[eE.,]/.test(compact) && /^[\d.,eE+]+$/.test(compact)
          ? `${field} "${input}" is a rounded number, not an exact code: re-export the column as text`
          : `${field} "${input}" must contain only digits`,
        { field },
      )
    }
    digits = recovered
  }
  if (digits.length === 14 || digits.length === 13 || digits.length === 8) {
    // as is
  } else if (digits.length >= 9 && digits.length <= 12) {
    digits = digits.padStart(13, '0')
  } else {
    throw badUserInput(`${field} "${input}" has ${digits.length} digits; a GTIN has 8, 12, 13 or 14`, {
      field,
    })
  }
  if (!checkDigitOk(digits)) {
    throw badUserInput(`${field} "${input}" has a wrong check digit`, { field })
  }
  return digits
}
