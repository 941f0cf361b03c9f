/** Static reference data of the demo set: people, suppliers, brands, the category tree, modules. */
import type { JsonObject } from '@pm/db/types/core'
import {
  MODULE_IDS,
  MODULE_INFO,
  PERMISSION_ACTIONS,
  PERMISSION_RESOURCES,
  type PermissionAction,
  type PermissionResource,
} from '@pm/service-kit'

export interface Persona {
  username: string
  email: string
  firstName: string
  lastName: string
  role: string
  isAdmin?: boolean
  isActive?: boolean
  isVerified?: boolean
  permissions?: JsonObject
}

export const DEMO_EMAIL_DOMAIN = 'demo.products-manager.fr'

/** One demo user per role; the first (the admin) anchors the core database (see seed.ts). */
export const PERSONAS: readonly Persona[] = [
  {
    username: 'admin',
    email: `admin@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Camille',
    lastName: 'Laurent',
    role: 'admin',
    isAdmin: true,
  },
  {
    username: 'jmoreau',
    email: `julien.moreau@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Julien',
    lastName: 'Moreau',
    role: 'manager',
  },
  {
    username: 'sbernard',
    email: `sophie.bernard@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Sophie',
    lastName: 'Bernard',
    role: 'editor',
  },
  {
    username: 'tpetit',
    email: `thomas.petit@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Thomas',
    lastName: 'Petit',
    role: 'importer',
  },
  {
    username: 'ldubois',
    email: `lea.dubois@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Léa',
    lastName: 'Dubois',
    role: 'analyst',
  },
  {
    username: 'nmartin',
    email: `nicolas.martin@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Nicolas',
    lastName: 'Martin',
    role: 'user',
  },
  {
    username: 'partner-boutique',
    email: `partenaire@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Hanna',
    lastName: 'Müller',
    role: 'partner',
    permissions: { scopes: ['catalog:read', 'media:read', 'exports:write'], partner: 'Boutique Müller GmbH' },
  },
  {
    username: 'mrossi',
    email: `marco.rossi@${DEMO_EMAIL_DOMAIN}`,
    firstName: 'Marco',
    lastName: 'Rossi',
    role: 'viewer',
    isActive: false,
    isVerified: false,
  },
]

export const ROLES: readonly { name: string; description: string }[] = [
  { name: 'admin', description: 'Administration complète de la plateforme' },
  { name: 'manager', description: 'Responsable catalogue : gère fournisseurs, imports et exports' },
  { name: 'editor', description: 'Rédacteur catalogue : fiches produits, médias, catégories' },
  { name: 'importer', description: 'Opérateur imports : configure et lance les imports fournisseurs' },
  { name: 'analyst', description: 'Analyste : lecture seule, rapports et statistiques' },
  { name: 'user', description: 'Utilisateur standard : consultation du catalogue' },
  { name: 'partner', description: 'Partenaire externe : accès API au catalogue et aux exports' },
  { name: 'viewer', description: 'Lecture seule du catalogue' },
]

/** The resources the demo roles' CRUD grants cover (the rest of the vocabulary goes with isAdmin or superusers). */
export const RESOURCES = [
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
] as const satisfies readonly PermissionResource[]
export const ACTIONS = ['create', 'read', 'update', 'delete'] as const satisfies readonly PermissionAction[]
type Resource = (typeof RESOURCES)[number]
type Action = (typeof ACTIONS)[number]

const CATALOG: Resource[] = ['product', 'supplier', 'brand', 'category', 'media']

function crudGrant(role: string, resource: Resource, action: Action): boolean {
  switch (role) {
    case 'admin':
      return true
    case 'manager':
      return resource === 'user' || resource === 'settings' ? action === 'read' : true
    case 'editor':
      return ['product', 'brand', 'category', 'media'].includes(resource)
        ? action !== 'delete'
        : action === 'read'
    case 'importer':
      if (resource === 'import') return true
      if (resource === 'product' || resource === 'supplier') return action !== 'delete'
      return action === 'read' && resource !== 'user' && resource !== 'settings'
    case 'analyst':
      return action === 'read' && resource !== 'settings'
    case 'user':
    case 'viewer':
      return action === 'read' && CATALOG.includes(resource)
    case 'partner':
      return (
        (action === 'read' && ['product', 'brand', 'category', 'media', 'export'].includes(resource)) ||
        (resource === 'export' && action === 'create')
      )
    default:
      return false
  }
}

/** Who reads what the seller keeps private: costs and margins, suppliers' contact details. */
const PRIVATE_READERS: Partial<Record<PermissionResource, readonly string[]>> = {
  cost: ['admin', 'manager', 'importer', 'analyst'],
  supplier_contact: ['admin', 'manager', 'importer'],
}

/**
 * Whether a role of ROLES holds a permission of the vocabulary. migrations/core seeds exactly these
 * grants (a test compares them).
 */
export function roleGrants(role: string, resource: PermissionResource, action: PermissionAction): boolean {
  const privateReaders = PRIVATE_READERS[resource]
  if (privateReaders) return action === 'read' && privateReaders.includes(role)
  if (
    !(RESOURCES as readonly string[]).includes(resource) ||
    !(ACTIONS as readonly string[]).includes(action)
  )
    return false
  return crudGrant(role, resource as Resource, action as Action)
}

/** Every grant of ROLES, as role name → sorted permission names. */
export function roleGrantNames(): Record<string, string[]> {
  const grants: Record<string, string[]> = {}
  for (const { name } of ROLES) {
    grants[name] = PERMISSION_RESOURCES.flatMap((resource) =>
      PERMISSION_ACTIONS.filter((action) => roleGrants(name, resource, action)).map(
        (action) => `${resource}:${action}`,
      ),
    ).sort()
  }
  return grants
}

/** The 17 feature modules (id, name, order; docs/requirements.md#modules), from the one registry. */
export const MODULES: readonly [string, string, number][] = MODULE_IDS.map((id) => [
  id,
  MODULE_INFO[id].name,
  MODULE_INFO[id].order,
])

export interface SupplierFixture {
  code: string
  name: string
  legalName: string
  country: string
  city: string
  address: string
  phone: string
  website: string
  /** Root categories this supplier distributes. */
  roots: string[]
  isActive?: boolean
  vatPrefix: string
}

export const SUPPLIERS: readonly SupplierFixture[] = [
  {
    code: 'DISTRILUX',
    name: 'Distrilux',
    legalName: 'Distrilux SAS',
    country: 'FR',
    city: 'Lyon',
    address: '14 rue de la Villette, 69003 Lyon',
    phone: '+33 4 72 00 14 20',
    website: 'https://www.distrilux.example',
    roots: ['Informatique', 'Téléphonie'],
    vatPrefix: 'FR',
  },
  {
    code: 'MEDIATECH',
    name: 'Médiatech Distribution',
    legalName: 'Médiatech Distribution SA',
    country: 'FR',
    city: 'Paris',
    address: '82 boulevard Haussmann, 75008 Paris',
    phone: '+33 1 44 55 62 10',
    website: 'https://www.mediatech-distribution.example',
    roots: ['Image & Son', 'Informatique'],
    vatPrefix: 'FR',
  },
  {
    code: 'ELEKTRO_BECKER',
    name: 'Elektrohandel Becker',
    legalName: 'Elektrohandel Becker GmbH',
    country: 'DE',
    city: 'Köln',
    address: 'Hohenzollernring 25, 50672 Köln',
    phone: '+49 221 480 330',
    website: 'https://www.becker-elektro.example',
    roots: ['Électroménager', 'Bricolage & Jardin'],
    vatPrefix: 'DE',
  },
  {
    code: 'BENELUX_TRADE',
    name: 'Benelux Trade',
    legalName: 'Benelux Trade B.V.',
    country: 'NL',
    city: 'Rotterdam',
    address: 'Coolsingel 40, 3011 AD Rotterdam',
    phone: '+31 10 201 4455',
    website: 'https://www.beneluxtrade.example',
    roots: ['Image & Son', 'Téléphonie'],
    vatPrefix: 'NL',
  },
  {
    code: 'IBERDIST',
    name: 'Iberdist',
    legalName: 'Iberdist S.L.',
    country: 'ES',
    city: 'Barcelona',
    address: 'Carrer de Balmes 120, 08008 Barcelona',
    phone: '+34 932 15 40 80',
    website: 'https://www.iberdist.example',
    roots: ['Électroménager', 'Téléphonie'],
    vatPrefix: 'ES',
  },
  {
    code: 'ITALTECH',
    name: 'Italtech',
    legalName: 'Italtech S.r.l.',
    country: 'IT',
    city: 'Milano',
    address: 'Via Torino 61, 20123 Milano',
    phone: '+39 02 8646 2200',
    website: 'https://www.italtech.example',
    roots: ['Informatique', 'Image & Son'],
    vatPrefix: 'IT',
  },
  {
    code: 'BRICOPRO',
    name: 'Bricopro Grossiste',
    legalName: 'Bricopro SARL',
    country: 'FR',
    city: 'Nantes',
    address: '3 quai de la Fosse, 44000 Nantes',
    phone: '+33 2 40 12 87 00',
    website: 'https://www.bricopro.example',
    roots: ['Bricolage & Jardin'],
    vatPrefix: 'FR',
  },
  {
    code: 'CASA_MENAGER',
    name: 'Casa Ménager',
    legalName: 'Casa Ménager SAS',
    country: 'FR',
    city: 'Lille',
    address: '25 rue Nationale, 59000 Lille',
    phone: '+33 3 20 57 41 90',
    website: 'https://www.casamenager.example',
    roots: ['Électroménager'],
    vatPrefix: 'FR',
  },
  {
    code: 'AUDIOVISION',
    name: 'Audiovision Europe',
    legalName: 'Audiovision Europe SRL',
    country: 'BE',
    city: 'Bruxelles',
    address: 'Avenue Louise 143, 1050 Bruxelles',
    phone: '+32 2 640 18 55',
    website: 'https://www.audiovision-europe.example',
    roots: ['Image & Son'],
    vatPrefix: 'BE',
  },
  {
    code: 'NORDIC_SUPPLY',
    name: 'Nordic Supply',
    legalName: 'Nordic Supply AB',
    country: 'SE',
    city: 'Göteborg',
    address: 'Kungsportsavenyen 10, 411 36 Göteborg',
    phone: '+46 31 711 24 00',
    website: 'https://www.nordicsupply.example',
    roots: ['Informatique', 'Bricolage & Jardin'],
    vatPrefix: 'SE',
  },
  {
    code: 'ALPES_DIFFUSION',
    name: 'Alpes Diffusion',
    legalName: 'Alpes Diffusion SARL',
    country: 'FR',
    city: 'Grenoble',
    address: '8 avenue Alsace-Lorraine, 38000 Grenoble',
    phone: '+33 4 76 46 30 12',
    website: 'https://www.alpes-diffusion.example',
    roots: ['Électroménager', 'Image & Son'],
    isActive: false,
    vatPrefix: 'FR',
  },
  {
    code: 'PHONEXPRESS',
    name: 'PhoneXpress',
    legalName: 'PhoneXpress SAS',
    country: 'FR',
    city: 'Marseille',
    address: '40 La Canebière, 13001 Marseille',
    phone: '+33 4 91 33 70 45',
    website: 'https://www.phonexpress.example',
    roots: ['Téléphonie'],
    vatPrefix: 'FR',
  },
]

/**
 * The supplier whose ASIN matches the demo gets from the engine, not from the seed: `pnpm start` stores a
 * lookup table made from its products and runs a code2asin job over it (code2asin's startDemoMatching).
 */
export const DEMO_ASIN_SUPPLIER = 'PHONEXPRESS'

export const BRANDS: readonly string[] = [
  'Samsung',
  'Philips',
  'Bosch',
  'Logitech',
  'SEB',
  'Moulinex',
  'Rowenta',
  'Tefal',
  'Krups',
  "De'Longhi",
  'Sony',
  'Lenovo',
  'HP',
  'Asus',
  'Acer',
  'Dyson',
  'Makita',
  'Ryobi',
  'JBL',
  'Canon',
  'Nikon',
  'Xiaomi',
  'Crucial',
  'Western Digital',
  'Anker',
]

export type Family =
  | 'laptop'
  | 'keyboard'
  | 'mouse'
  | 'storage'
  | 'coffee'
  | 'kettle'
  | 'vacuum'
  | 'iron'
  | 'tv'
  | 'headphones'
  | 'speaker'
  | 'camera'
  | 'lens'
  | 'powertool'
  | 'garden'
  | 'phone'
  | 'charger'
  | 'case'

export interface LeafFixture {
  root: string
  mid: string
  name: string
  /** Noun used in product titles. */
  noun: string
  family: Family
  brands: string[]
  /** Retail price range in euros. */
  price: [number, number]
  /** Weight range in kg. */
  weight: [number, number]
  /** Typical width, height, depth in cm. */
  dims: [number, number, number]
}

const leaf = (
  root: string,
  mid: string,
  name: string,
  noun: string,
  family: Family,
  brands: string[],
  price: [number, number],
  weight: [number, number],
  dims: [number, number, number],
): LeafFixture => ({ root, mid, name, noun, family, brands, price, weight, dims })

/** Three levels: 5 roots, 13 sub-categories, 26 leaves (products sit on leaves). */
export const LEAVES: readonly LeafFixture[] = [
  leaf(
    'Informatique',
    'Ordinateurs portables',
    'Ultraportables',
    'PC ultraportable',
    'laptop',
    ['Lenovo', 'HP', 'Asus', 'Acer', 'Samsung'],
    [549, 1899],
    [0.9, 1.6],
    [31, 1.6, 21],
  ),
  leaf(
    'Informatique',
    'Ordinateurs portables',
    'PC portables gaming',
    'PC portable gaming',
    'laptop',
    ['Asus', 'Lenovo', 'HP', 'Acer'],
    [899, 2999],
    [2.1, 3.2],
    [36, 2.5, 26],
  ),
  leaf(
    'Informatique',
    'Périphériques',
    'Claviers',
    'Clavier sans fil',
    'keyboard',
    ['Logitech', 'Asus', 'HP'],
    [29, 189],
    [0.4, 1.1],
    [44, 3, 14],
  ),
  leaf(
    'Informatique',
    'Périphériques',
    'Souris',
    'Souris',
    'mouse',
    ['Logitech', 'Asus', 'Xiaomi'],
    [14, 149],
    [0.06, 0.14],
    [7, 4, 12],
  ),
  leaf(
    'Informatique',
    'Stockage',
    'SSD internes',
    'SSD interne',
    'storage',
    ['Samsung', 'Crucial', 'Western Digital'],
    [39, 329],
    [0.008, 0.06],
    [8, 0.3, 2.2],
  ),
  leaf(
    'Informatique',
    'Stockage',
    'Disques durs externes',
    'Disque dur externe',
    'storage',
    ['Western Digital', 'Samsung', 'Crucial'],
    [59, 279],
    [0.05, 0.25],
    [8, 1.2, 11],
  ),
  leaf(
    'Électroménager',
    'Petit-déjeuner',
    'Machines à café',
    'Machine à café',
    'coffee',
    ["De'Longhi", 'Krups', 'Philips', 'Moulinex'],
    [79, 999],
    [3.5, 11],
    [24, 36, 43],
  ),
  leaf(
    'Électroménager',
    'Petit-déjeuner',
    'Bouilloires',
    'Bouilloire électrique',
    'kettle',
    ['Tefal', 'Moulinex', 'Philips', 'SEB'],
    [19, 99],
    [0.8, 1.5],
    [22, 25, 15],
  ),
  leaf(
    'Électroménager',
    'Entretien des sols',
    'Aspirateurs balais',
    'Aspirateur balai sans fil',
    'vacuum',
    ['Dyson', 'Rowenta', 'Philips', 'Xiaomi', 'Bosch'],
    [129, 799],
    [2.2, 3.5],
    [25, 118, 22],
  ),
  leaf(
    'Électroménager',
    'Entretien des sols',
    'Robots aspirateurs',
    'Robot aspirateur',
    'vacuum',
    ['Xiaomi', 'Rowenta', 'Samsung'],
    [199, 1199],
    [3, 4.5],
    [35, 10, 35],
  ),
  leaf(
    'Électroménager',
    'Soin du linge',
    'Fers à repasser',
    'Fer à repasser vapeur',
    'iron',
    ['Rowenta', 'Philips', 'Tefal'],
    [29, 119],
    [1.1, 1.7],
    [13, 15, 30],
  ),
  leaf(
    'Électroménager',
    'Soin du linge',
    'Centrales vapeur',
    'Centrale vapeur',
    'iron',
    ['Rowenta', 'Philips', 'Tefal', 'Bosch'],
    [149, 599],
    [4, 6.5],
    [24, 28, 43],
  ),
  leaf(
    'Image & Son',
    'Téléviseurs',
    'TV OLED',
    'Téléviseur OLED',
    'tv',
    ['Samsung', 'Sony', 'Philips'],
    [999, 3499],
    [14, 28],
    [123, 71, 5],
  ),
  leaf(
    'Image & Son',
    'Téléviseurs',
    'TV LED',
    'Téléviseur LED 4K',
    'tv',
    ['Samsung', 'Sony', 'Philips', 'Xiaomi'],
    [299, 1499],
    [7, 20],
    [112, 65, 8],
  ),
  leaf(
    'Image & Son',
    'Audio',
    'Casques',
    'Casque Bluetooth',
    'headphones',
    ['Sony', 'JBL', 'Philips', 'Anker'],
    [39, 449],
    [0.18, 0.32],
    [17, 20, 8],
  ),
  leaf(
    'Image & Son',
    'Audio',
    'Enceintes Bluetooth',
    'Enceinte Bluetooth',
    'speaker',
    ['JBL', 'Sony', 'Anker', 'Xiaomi'],
    [29, 399],
    [0.3, 2.5],
    [18, 8, 8],
  ),
  leaf(
    'Image & Son',
    'Photo',
    'Appareils hybrides',
    'Appareil photo hybride',
    'camera',
    ['Canon', 'Nikon', 'Sony'],
    [599, 2899],
    [0.4, 0.9],
    [13, 9, 7],
  ),
  leaf(
    'Image & Son',
    'Photo',
    'Objectifs',
    'Objectif',
    'lens',
    ['Canon', 'Nikon', 'Sony'],
    [199, 2199],
    [0.2, 1.4],
    [7, 7, 10],
  ),
  leaf(
    'Bricolage & Jardin',
    'Outillage électroportatif',
    'Perceuses-visseuses',
    'Perceuse-visseuse sans fil',
    'powertool',
    ['Bosch', 'Makita', 'Ryobi'],
    [59, 399],
    [1.1, 2.3],
    [8, 22, 20],
  ),
  leaf(
    'Bricolage & Jardin',
    'Outillage électroportatif',
    'Scies sauteuses',
    'Scie sauteuse',
    'powertool',
    ['Bosch', 'Makita', 'Ryobi'],
    [49, 299],
    [1.8, 2.8],
    [8, 20, 26],
  ),
  leaf(
    'Bricolage & Jardin',
    'Jardin',
    'Tondeuses',
    'Tondeuse à gazon',
    'garden',
    ['Bosch', 'Ryobi', 'Makita'],
    [149, 899],
    [11, 32],
    [45, 100, 140],
  ),
  leaf(
    'Bricolage & Jardin',
    'Jardin',
    'Taille-haies',
    'Taille-haies',
    'garden',
    ['Bosch', 'Ryobi', 'Makita'],
    [59, 329],
    [2.2, 4.2],
    [20, 20, 95],
  ),
  leaf(
    'Téléphonie',
    'Smartphones',
    'Smartphones Android',
    'Smartphone',
    'phone',
    ['Samsung', 'Xiaomi', 'Sony'],
    [149, 1499],
    [0.17, 0.24],
    [7.2, 15.8, 0.8],
  ),
  leaf(
    'Téléphonie',
    'Smartphones',
    'Smartphones reconditionnés',
    'Smartphone reconditionné',
    'phone',
    ['Samsung', 'Xiaomi'],
    [89, 799],
    [0.17, 0.23],
    [7.2, 15.8, 0.8],
  ),
  leaf(
    'Téléphonie',
    'Accessoires mobiles',
    'Chargeurs',
    'Chargeur USB-C',
    'charger',
    ['Anker', 'Samsung', 'Xiaomi'],
    [12, 89],
    [0.05, 0.3],
    [5, 5, 3],
  ),
  leaf(
    'Téléphonie',
    'Accessoires mobiles',
    'Coques & protections',
    'Coque de protection',
    'case',
    ['Samsung', 'Xiaomi', 'Anker'],
    [9, 49],
    [0.02, 0.06],
    [8, 16, 1.2],
  ),
]

export const COLORS = ['Noir', 'Blanc', 'Gris sidéral', 'Bleu nuit', 'Argent', 'Rouge', 'Vert sauge', 'Beige']

export const WAREHOUSES: readonly string[] = [
  'Entrepôt Lyon-Corbas',
  'Entrepôt Paris-Nord',
  'Entrepôt Lille-Lesquin',
]
