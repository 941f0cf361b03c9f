import { describe, expect, it } from 'vitest'
import { compileImport, ImportConfigError, validateImportConfig, validateMapping } from '../../src/engine'

const record = (values: Record<string, string>, rowNumber = 1) => ({ rowNumber, values })

/** Maps one column to `field` (plus an EAN so the mapping has an identifier) and runs `rules` on it. */
function one(
  field: string,
  raw: string | undefined,
  rules: object[] = [],
  validations: object[] = [],
  locale?: string,
) {
  const compiled = compileImport({
    fieldMapping: { V: field, ...(field === 'ean' ? {} : { Code: 'sku' }) },
    transformationRules: rules.map((r) => ({ field, ...r })),
    validationRules: validations.map((r) => ({ field, ...r })),
    locale,
  })
  return compiled.map(record({ Code: 'SKU-1', ...(raw === undefined ? {} : { V: raw }) }))
}

const value = (field: string, raw: string | undefined, rules: object[] = [], locale?: string) => {
  const out = one(field, raw, rules, [], locale)
  expect(out.issues.filter((i) => i.severity === 'error')).toEqual([])
  const row = out.row as Record<string, unknown>
  const key = {
    manufacturer_reference: 'manufacturerReference',
    quantity: 'stockQuantity',
    image_url: 'imageUrls',
    retail_price: 'retailPrice',
    is_active: 'isActive',
  }[field]
  return field.startsWith('technical_specs.')
    ? (row.technicalSpecs as Record<string, string> | undefined)?.[field.slice(16)]
    : row[key ?? field]
}

const issue = (
  field: string,
  raw: string | undefined,
  rules: object[] = [],
  validations: object[] = [],
  locale?: string,
) => {
  const out = one(field, raw, rules, validations, locale)
  expect(out.row).toBeUndefined()
  return out.issues[0]!
}

describe('mapping and type conversion', () => {
  it('maps columns to an ImportRow with decimals as strings in the catalogue format', () => {
    const compiled = compileImport({
      fieldMapping: {
        EAN: 'ean',
        Réf: 'sku',
        Désignation: 'title',
        'Prix HT': 'price',
        Poids: 'weight',
        Stock: 'quantity',
        Actif: 'is_active',
        Devise: 'currency',
        Couleur: 'technical_specs.color',
        'Image 1': 'image_url',
        'Image 2': 'image_url',
        Marque: 'brand',
      },
    })
    const out = compiled.map(
      record({
        EAN: ' 3017620422003 ',
        Réf: 'A-1',
        Désignation: '  Pâte à tartiner ',
        'Prix HT': '12,5',
        Poids: '0,75',
        Stock: '1 234',
        Actif: 'oui',
        Devise: '€',
        Couleur: 'brun',
        'Image 1': 'https://cdn.example/a.jpg',
        'Image 2': '',
        Marque: '',
      }),
    )
    expect(out).toEqual({
      row: {
        ean: '3017620422003',
        sku: 'A-1',
        title: 'Pâte à tartiner',
        price: '12.50',
        weight: '0.750',
        stockQuantity: 1234,
        isActive: true,
        currency: 'EUR',
        technicalSpecs: { color: 'brun' },
        imageUrls: ['https://cdn.example/a.jpg'],
      },
      issues: [],
    })
    expect(compiled.targetFields).toContain('technical_specs.color')
    expect(compiled.missingColumns(['EAN', 'Réf'])).toContain('Prix HT')
  })

  it('reads French, German and English numbers, with the config locale for the ambiguous ones', () => {
    expect(value('price', '12,50')).toBe('12.50')
    expect(value('price', '1 234,50')).toBe('1234.50')
    expect(value('price', '1.234,50')).toBe('1234.50')
    expect(value('price', '1,234.50')).toBe('1234.50')
    expect(value('price', '12,50 €')).toBe('12.50')
    expect(value('weight', '1,234', [], 'fr')).toBe('1.234')
    expect(value('weight', '1.234', [], 'de')).toBe('1234.000')
    expect(value('weight', '1,234', [], 'en')).toBe('1234.000')
    expect(issue('weight', '1,234')).toMatchObject({
      rule: 'decimal',
      message: expect.stringContaining('ambiguous'),
    })
    // Rounded half away from zero to the column's decimals.
    expect(value('price', '2.345')).toBe('2.35')
    expect(value('weight', '0.0004')).toBe('0.000')
  })

  it('refuses text in a number, negative amounts and stock, and values too large for their column', () => {
    expect(issue('price', '12,5O')).toMatchObject({
      rule: 'decimal',
      column: 'V',
      field: 'price',
      rawValue: '12,5O',
    })
    expect(issue('price', '-1')).toMatchObject({ rule: 'negative' })
    expect(issue('quantity', '-3')).toMatchObject({ rule: 'negative' })
    expect(issue('quantity', '2,5')).toMatchObject({ rule: 'integer' })
    expect(issue('price', '123456789')).toMatchObject({
      rule: 'decimal',
      message: expect.stringContaining('8 digits'),
    })
    expect(issue('title', 'x'.repeat(501))).toMatchObject({ rule: 'maxLength' })
  })

  it('normalises and checks codes: EAN, GTIN, UPC, ASIN, currency, yes/no, URLs', () => {
    expect(value('ean', '3 017620 422003')).toBe('3017620422003')
    expect(value('ean', '3.017620422003E12')).toBe('3017620422003')
    expect(issue('ean', '3017620422004')).toMatchObject({
      rule: 'ean',
      message: expect.stringContaining('check digit'),
    })
    expect(value('upc', '036000291452')).toBe('036000291452')
    expect(issue('upc', '3017620422003')).toMatchObject({ rule: 'upc' })
    expect(value('gtin', '10036000291459')).toBe('10036000291459')
    expect(value('asin', 'b00abc1234')).toBe('B00ABC1234')
    expect(issue('asin', 'B00')).toMatchObject({ rule: 'asin' })
    expect(issue('currency', 'euro')).toMatchObject({ rule: 'currency' })
    expect(value('is_active', 'NON')).toBe(false)
    expect(issue('is_active', 'maybe')).toMatchObject({ rule: 'boolean' })
    expect(issue('image_url', 'a.jpg|b.jpg')).toMatchObject({
      rule: 'url',
      message: expect.stringContaining('split'),
    })
  })

  it('fails a record the reader could not read whole with its issue', () => {
    const compiled = compileImport({ fieldMapping: { A: 'sku' } })
    const out = compiled.map({ rowNumber: 3, values: {}, issue: { rule: 'maxColumns', message: 'too wide' } })
    expect(out).toEqual({ issues: [{ rule: 'maxColumns', message: 'too wide', severity: 'error' }] })
  })
})

describe('transformation rules', () => {
  it.each([
    [{ op: 'trim' }, '  a b  ', 'a b'],
    [{ op: 'uppercase' }, 'abç', 'ABÇ'],
    [{ op: 'lowercase' }, 'ABÇ', 'abç'],
    [{ op: 'titlecase' }, "CRÈME brûlée d'ÉTÉ", "Crème Brûlée D'Été"],
    [{ op: 'truncate', maxLength: 3 }, 'abcdef', 'abc'],
    [{ op: 'padLeft', length: 6 }, '42', '000042'],
    [{ op: 'replace', pattern: '\\s+', replacement: ' ' }, 'a   b\tc', 'a b c'],
    [{ op: 'replace', pattern: 'X', replacement: 'y', flags: 'i' }, 'xX', 'yy'],
    [{ op: 'extract', pattern: 'REF-(\\d+)' }, 'ref: REF-123 (old)', '123'],
    [{ op: 'extract', pattern: '\\d+', group: 0 }, 'abc 42 def', '42'],
    [{ op: 'mapValues', values: { R: 'Rouge', B: 'Bleu' } }, 'R', 'Rouge'],
    [{ op: 'mapValues', values: { r: 'Rouge' }, ignoreCase: true }, ' R ', 'Rouge'],
    [{ op: 'mapValues', values: { R: 'Rouge' } }, 'V', 'V'],
    [{ op: 'date', format: 'DD/MM/YYYY' }, '31/12/2026', '2026-12-31'],
    [{ op: 'date', format: ['DD/MM/YY', 'iso'] }, '2026-01-02', '2026-01-02'],
    [{ op: 'date', format: 'DD.MM.YYYY HH:mm' }, '01.02.2026 13:45', '2026-02-01T13:45:00'],
    [{ op: 'date', format: 'excel' }, '46022', '2025-12-31'],
    [{ op: 'normalizeEan' }, '3017620422003', '3017620422003'],
    [{ op: 'number', locale: 'fr' }, '1 234,5', '1234.5'],
    [{ op: 'number', decimalSeparator: ',', thousandsSeparator: '.' }, '1.234,5', '1234.5'],
  ])('%j turns %j into %j', (rule, raw, expected) => {
    expect(value('technical_specs.x', raw, [rule])).toBe(expected)
  })

  it('multiplies, divides, rounds and adds VAT exactly (no float drift)', () => {
    expect(value('weight', '1234', [{ op: 'divide', divisor: 1000 }])).toBe('1.234')
    expect(value('weight', '0,5', [{ op: 'multiply', factor: '0.453592' }])).toBe('0.227')
    expect(value('technical_specs.x', '0.1', [{ op: 'multiply', factor: 3 }])).toBe('0.3')
    expect(value('technical_specs.x', '1', [{ op: 'divide', divisor: 3 }])).toBe('0.333333333333')
    expect(value('price', '9.99', [{ op: 'applyVat', rate: 0.2 }])).toBe('11.99')
    expect(value('technical_specs.x', '9.99', [{ op: 'applyVat', rate: 0.2 }])).toBe('11.988')
    expect(value('technical_specs.x', '2.5', [{ op: 'round', decimals: 0 }])).toBe('3')
    expect(
      value('price', '12,50', [
        { op: 'multiply', factor: 100 },
        { op: 'divide', divisor: 100 },
      ]),
    ).toBe('12.50')
  })

  it('splits a cell into image URLs and cleans each', () => {
    expect(
      value('image_url', ' https://a.example/1.jpg | https://a.example/2.jpg ||', [
        { op: 'split', separator: '|' },
        { op: 'replace', pattern: '^http:', replacement: 'https:' },
      ]),
    ).toEqual(['https://a.example/1.jpg', 'https://a.example/2.jpg'])
  })

  it('gives a default to an empty or absent value only', () => {
    expect(value('currency', '', [{ op: 'default', value: 'EUR' }])).toBe('EUR')
    expect(value('currency', 'usd', [{ op: 'default', value: 'EUR' }])).toBe('USD')
    const compiled = compileImport({
      fieldMapping: { Code: 'sku' },
      transformationRules: [
        { field: 'currency', op: 'default', value: 'EUR' },
        { field: 'is_active', op: 'default', value: true },
      ],
    })
    expect(compiled.map(record({ Code: 'A' })).row).toEqual({ sku: 'A', currency: 'EUR', isActive: true })
  })

  it('fails a row with the rule that could not apply', () => {
    expect(issue('technical_specs.x', 'abc', [{ op: 'multiply', factor: 2 }])).toMatchObject({
      rule: 'multiply',
      rawValue: 'abc',
    })
    expect(issue('technical_specs.x', '32/13/2026', [{ op: 'date', format: 'DD/MM/YYYY' }])).toMatchObject({
      rule: 'date',
      message: expect.stringContaining('DD/MM/YYYY'),
    })
    expect(
      issue('technical_specs.x', 'V', [{ op: 'mapValues', values: { R: 'Rouge' }, unmatched: 'fail' }]),
    ).toMatchObject({
      rule: 'mapValues',
    })
    expect(issue('technical_specs.x', '123', [{ op: 'normalizeEan' }])).toMatchObject({
      rule: 'normalizeEan',
    })
  })
})

describe('validation rules', () => {
  it.each([
    [{ rule: 'required' }, 'title', undefined],
    [{ rule: 'pattern', value: '^[A-Z]{3}-\\d+$' }, 'title', 'abc-1'],
    [{ rule: 'min', value: 0.01 }, 'price', '0'],
    [{ rule: 'max', value: '100' }, 'price', '100,01'],
    [{ rule: 'range', min: 1, max: 10 }, 'quantity', '11'],
    [{ rule: 'minLength', value: 5 }, 'title', 'abcd'],
    [{ rule: 'maxLength', value: 3 }, 'title', 'abcd'],
    [{ rule: 'length', min: 2, max: 3 }, 'title', 'a'],
    [{ rule: 'oneOf', values: ['active', 'draft'] }, 'status', 'deleted'],
    [{ rule: 'enum', values: ['A', 'B'] }, 'status', 'C'],
    [{ rule: 'ean' }, 'technical_specs.gencod', '3017620422004'],
    [{ rule: 'gtin' }, 'technical_specs.gencod', '12'],
  ])('%j refuses %s %j', (rule, field, raw) => {
    const found = issue(field, raw, [], [rule])
    expect(found).toMatchObject({ rule: (rule as { rule: string }).rule, field, severity: 'error' })
    if (raw !== undefined) expect(found).toMatchObject({ column: 'V', rawValue: raw })
  })

  it.each([
    [{ rule: 'pattern', value: '^[a-z]+$', flags: 'i' }, 'title', 'ABC'],
    [{ rule: 'range', min: '0.01' }, 'price', '0,01'],
    [{ rule: 'enum', values: ['active'], ignoreCase: true }, 'status', 'ACTIVE'],
    [{ rule: 'length', max: 3 }, 'title', 'été'],
    [{ rule: 'min', value: 1 }, 'price', undefined],
  ])('%j accepts %s %j', (rule, field, raw) => {
    expect(one(field, raw, [], [rule]).issues).toEqual([])
  })

  it('records a warning without failing the row', () => {
    const out = one('price', '0', [], [{ rule: 'min', value: 0.01, severity: 'warning' }])
    expect(out.row).toMatchObject({ price: '0.00' })
    expect(out.issues).toEqual([expect.objectContaining({ rule: 'min', severity: 'warning' })])
  })

  it('collects every issue of a row', () => {
    const compiled = compileImport({
      fieldMapping: { EAN: 'ean', Titre: 'title', Prix: 'price' },
      validationRules: [{ field: 'title', rule: 'required' }],
    })
    const out = compiled.map(record({ EAN: '3017620422004', Titre: '', Prix: 'abc' }))
    expect(out.row).toBeUndefined()
    expect(out.issues.map((i) => [i.field, i.rule])).toEqual([
      ['ean', 'ean'],
      ['title', 'required'],
      ['price', 'decimal'],
    ])
  })
})

describe('configuration validation', () => {
  const base = { fieldMapping: { EAN: 'ean', Prix: 'price' } }
  it.each([
    ['an unknown target field', { fieldMapping: { EAN: 'ean', Prix: 'prix' } }, 'input.fieldMapping.Prix'],
    ['a field fed twice', { fieldMapping: { EAN: 'ean', EAN13: 'ean' } }, 'input.fieldMapping.EAN13'],
    ['no identifier', { fieldMapping: { Prix: 'price' } }, 'input.fieldMapping'],
    [
      'an unknown rule kind',
      { ...base, transformationRules: [{ field: 'price', op: 'explode' }] },
      'input.transformationRules[0].op',
    ],
    [
      'an unknown validation',
      { ...base, validationRules: [{ field: 'price', rule: 'positive' }] },
      'input.validationRules[0].rule',
    ],
    [
      'a misspelt parameter',
      { ...base, transformationRules: [{ field: 'price', op: 'round', decimal: 2 }] },
      'input.transformationRules[0].decimal',
    ],
    [
      'a bad regular expression',
      { ...base, transformationRules: [{ field: 'price', op: 'extract', pattern: '([' }] },
      'input.transformationRules[0].pattern',
    ],
    [
      'a group the pattern lacks',
      { ...base, transformationRules: [{ field: 'price', op: 'extract', pattern: '\\d+', group: 1 }] },
      'input.transformationRules[0].group',
    ],
    [
      'a zero divisor',
      { ...base, transformationRules: [{ field: 'price', op: 'divide', divisor: 0 }] },
      'input.transformationRules[0].divisor',
    ],
    [
      'an unknown locale',
      { ...base, transformationRules: [{ field: 'price', op: 'number', locale: 'xx' }] },
      'input.transformationRules[0].locale',
    ],
    [
      'a bad date format',
      {
        ...base,
        fieldMapping: { EAN: 'ean', D: 'technical_specs.date' },
        transformationRules: [{ field: 'technical_specs.date', op: 'date', format: 'MM/YYYY' }],
      },
      'input.transformationRules[0].format',
    ],
    [
      'a rule on a field no column feeds',
      { ...base, transformationRules: [{ field: 'title', op: 'trim' }] },
      'input.transformationRules[0].field',
    ],
    [
      'a validation on a field no column feeds',
      { ...base, validationRules: [{ field: 'title', rule: 'required' }] },
      'input.validationRules[0].field',
    ],
    [
      'a split on a single-valued field',
      { ...base, transformationRules: [{ field: 'price', op: 'split', separator: '|' }] },
      'input.transformationRules[0].op',
    ],
    [
      'a range without bounds',
      { ...base, validationRules: [{ field: 'price', rule: 'range' }] },
      'input.validationRules[0]',
    ],
    [
      'an unknown severity',
      { ...base, validationRules: [{ field: 'price', rule: 'required', severity: 'fatal' }] },
      'input.validationRules[0].severity',
    ],
  ])('refuses %s, naming the path', (_, config, path) => {
    let error: unknown
    try {
      validateImportConfig(config, 'input')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ImportConfigError)
    expect((error as ImportConfigError).path).toBe(path)
    expect((error as ImportConfigError).message).toContain(path)
  })

  it('accepts a rule on a field a default feeds, and normalises what it stores', () => {
    const valid = validateImportConfig({
      ...base,
      transformationRules: [
        { field: 'currency', op: 'default', value: 'EUR' },
        { field: 'currency', op: 'uppercase' },
        { field: 'price', op: 'padLeft', length: 3 },
      ],
      validationRules: [{ field: 'currency', rule: 'enum', values: ['EUR'] }],
    })
    expect(valid.transformationRules[2]).toEqual({ field: 'price', op: 'padLeft', length: 3, char: '0' })
    expect(valid.validationRules[0]).toEqual({
      field: 'currency',
      rule: 'enum',
      values: ['EUR'],
      severity: 'error',
    })
  })

  it('checks a mapping template for an identifier', () => {
    expect(() => validateMapping({ Titre: 'title' }, 'input.fieldMapping')).toThrow(/sku or ean/)
    expect(validateMapping({ Code: 'sku' })).toEqual({ Code: 'sku' })
  })
})
