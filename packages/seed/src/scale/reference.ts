/** Reference data of the large data set: the demo's fixtures, extended to ~50 suppliers and ~2,000 brands. */
import { slugify } from '@pm/service-kit'
import { type Family, LEAVES, SUPPLIERS, type SupplierFixture } from '../fixtures'
import type { Random } from '../random'

export const SUPPLIER_COUNT = 50
export const BRAND_COUNT = 2000

interface CountryFixture {
  country: string
  vatPrefix: string
  legalForms: string[]
  /** [city, postcode, street] */
  places: [string, string, string][]
  phone: (rng: Random) => string
}

const COUNTRIES: readonly CountryFixture[] = [
  {
    country: 'FR',
    vatPrefix: 'FR',
    legalForms: ['SAS', 'SARL', 'SA'],
    places: [
      ['Lyon', '69007', 'avenue Jean Jaurès'],
      ['Toulouse', '31000', 'rue de Metz'],
      ['Bordeaux', '33000', 'cours de l’Intendance'],
      ['Rennes', '35000', 'boulevard de la Liberté'],
      ['Strasbourg', '67000', 'rue du Vieux-Marché-aux-Poissons'],
      ['Montpellier', '34000', 'avenue de Toulouse'],
      ['Orléans', '45000', 'rue Bannier'],
      ['Rouen', '76000', 'quai du Havre'],
    ],
    phone: (rng) =>
      `+33 ${rng.int(1, 5)} ${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)}`,
  },
  {
    country: 'DE',
    vatPrefix: 'DE',
    legalForms: ['GmbH', 'AG', 'KG'],
    places: [
      ['Hamburg', '20095', 'Mönckebergstraße'],
      ['München', '80331', 'Kaufingerstraße'],
      ['Frankfurt am Main', '60311', 'Zeil'],
      ['Düsseldorf', '40212', 'Königsallee'],
    ],
    phone: (rng) => `+49 ${rng.int(30, 89)} ${rng.digits(3)} ${rng.digits(4)}`,
  },
  {
    country: 'BE',
    vatPrefix: 'BE',
    legalForms: ['SRL', 'SA', 'BV'],
    places: [
      ['Liège', '4000', 'rue Saint-Gilles'],
      ['Antwerpen', '2000', 'Meir'],
      ['Gent', '9000', 'Veldstraat'],
    ],
    phone: (rng) => `+32 ${rng.int(2, 9)} ${rng.digits(3)} ${rng.digits(2)} ${rng.digits(2)}`,
  },
  {
    country: 'NL',
    vatPrefix: 'NL',
    legalForms: ['B.V.', 'N.V.'],
    places: [
      ['Utrecht', '3511', 'Oudegracht'],
      ['Eindhoven', '5611', 'Stratumseind'],
      ['Amsterdam', '1012', 'Damrak'],
    ],
    phone: (rng) => `+31 ${rng.int(10, 79)} ${rng.digits(3)} ${rng.digits(4)}`,
  },
  {
    country: 'ES',
    vatPrefix: 'ES',
    legalForms: ['S.L.', 'S.A.'],
    places: [
      ['Madrid', '28013', 'Gran Vía'],
      ['Valencia', '46002', 'Carrer de Colón'],
      ['Sevilla', '41001', 'Calle Sierpes'],
    ],
    phone: (rng) => `+34 9${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)}`,
  },
  {
    country: 'IT',
    vatPrefix: 'IT',
    legalForms: ['S.r.l.', 'S.p.A.'],
    places: [
      ['Torino', '10121', 'Via Roma'],
      ['Bologna', '40121', 'Via dell’Indipendenza'],
      ['Napoli', '80134', 'Via Toledo'],
    ],
    phone: (rng) => `+39 0${rng.int(10, 99)} ${rng.digits(4)} ${rng.digits(3)}`,
  },
  {
    country: 'PL',
    vatPrefix: 'PL',
    legalForms: ['Sp. z o.o.', 'S.A.'],
    places: [
      ['Warszawa', '00-001', 'ulica Marszałkowska'],
      ['Poznań', '61-001', 'ulica Półwiejska'],
    ],
    phone: (rng) => `+48 ${rng.int(12, 91)} ${rng.digits(3)} ${rng.digits(2)} ${rng.digits(2)}`,
  },
  {
    country: 'PT',
    vatPrefix: 'PT',
    legalForms: ['Lda.', 'S.A.'],
    places: [
      ['Porto', '4000-322', 'Rua de Santa Catarina'],
      ['Lisboa', '1100-053', 'Rua Augusta'],
    ],
    phone: (rng) => `+351 2${rng.digits(2)} ${rng.digits(3)} ${rng.digits(3)}`,
  },
]

const STEMS = [
  'Atlantique',
  'Rhône',
  'Provence',
  'Armor',
  'Vosges',
  'Loire',
  'Garonne',
  'Azur',
  'Cévennes',
  'Normandie',
  'Euro',
  'Hansa',
  'Rhein',
  'Flandria',
  'Maas',
  'Iberia',
  'Tirreno',
  'Vistula',
  'Douro',
  'Central',
  'Horizon',
  'Polaris',
  'Meridian',
  'Orion',
  'Vega',
  'Zenith',
  'Quartz',
  'Boréal',
  'Phare',
  'Cap',
]
const TRADES = ['Distribution', 'Trade', 'Supply', 'Import', 'Négoce', 'Grossiste', 'Logistique', 'Direct']
const ROOTS = [...new Set(LEAVES.map((l) => l.root))]

/** The demo's twelve suppliers, then synthesized ones up to `count`, with unique codes. */
export function supplierFixtures(rng: Random, count: number = SUPPLIER_COUNT): SupplierFixture[] {
  const out = [...SUPPLIERS]
  const codes = new Set(out.map((s) => s.code))
  while (out.length < count) {
    const name = `${rng.pick(STEMS)} ${rng.pick(TRADES)}`
    const code = slugify(name).replace(/-/g, '_').toUpperCase()
    if (codes.has(code)) continue
    codes.add(code)
    const c = rng.weighted(COUNTRIES.map((x) => [x, x.country === 'FR' ? 6 : 1] as const))
    const [city, postcode, street] = rng.pick(c.places)
    const roots = rng.sample(ROOTS, rng.chance(0.6) ? 2 : 1)
    out.push({
      code,
      name,
      legalName: `${name} ${rng.pick(c.legalForms)}`,
      country: c.country,
      city,
      address: `${rng.int(1, 180)} ${street}, ${postcode} ${city}`,
      phone: c.phone(rng),
      website: `https://www.${slugify(name)}.example`,
      roots,
      // About one supplier in twenty-five has its contract suspended.
      ...(rng.chance(0.04) ? { isActive: false } : {}),
      vatPrefix: c.vatPrefix,
    })
  }
  return out.slice(0, count)
}

const ONSETS = [
  'Vel',
  'Kor',
  'Lum',
  'Nor',
  'Tra',
  'Zen',
  'Ari',
  'Bel',
  'Cal',
  'Dor',
  'Ev',
  'Fal',
  'Gal',
  'Hal',
  'Ix',
  'Jor',
  'Kal',
  'Lor',
  'Mar',
  'Nex',
  'Ol',
  'Pra',
  'Quin',
  'Ros',
  'Sol',
  'Tor',
  'Ul',
  'Vor',
  'Wex',
  'Yl',
]
const MIDDLES = ['', '', '', 'a', 'e', 'i', 'o', 'an', 'er', 'il']
const ENDINGS = [
  'ex',
  'ia',
  'on',
  'ar',
  'is',
  'um',
  'ora',
  'ix',
  'ax',
  'en',
  'ic',
  'o',
  'us',
  'ea',
  'yn',
  'ek',
  'ta',
]
const LINES = [
  '',
  '',
  '',
  '',
  ' Home',
  ' Pro',
  ' Tech',
  ' Audio',
  ' Electric',
  ' Tools',
  ' Living',
  ' Digital',
]

/** `count` invented brand names, distinct from each other and from `taken` (compared as codes). */
export function brandNames(rng: Random, count: number, taken: readonly string[]): string[] {
  const codes = new Set(taken.map((n) => slugify(n)))
  const out: string[] = []
  while (out.length < count) {
    const name = `${rng.pick(ONSETS)}${rng.pick(MIDDLES)}${rng.pick(ENDINGS)}${rng.pick(LINES)}`
    const code = slugify(name)
    if (codes.has(code)) continue
    codes.add(code)
    out.push(name)
  }
  return out
}

export const FAMILIES: readonly Family[] = [...new Set(LEAVES.map((l) => l.family))]

/** The fourth level of the tree: each leaf of the demo tree splits into these (~500 categories in all). */
export const SUBCATEGORIES = [
  'Entrée de gamme',
  'Milieu de gamme',
  'Haut de gamme',
  'Professionnel',
  'Reconditionné',
  'Packs et lots',
  'Éco-conçu',
  'Compact',
  'Premium',
  'Édition limitée',
  'Grand public',
  'Connecté',
  'Sans fil',
  'Déstockage',
  'Nouveautés',
  'Meilleures ventes',
  'Exclusivités web',
  'Import',
] as const
