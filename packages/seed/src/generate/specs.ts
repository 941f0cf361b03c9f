import type { JsonObject } from '@pm/db/types/catalog'
import { COLORS, type Family } from '../fixtures'
import type { Random } from '../random'

export interface ProductSpecs {
  specs: JsonObject
  /** Appended to the title, e.g. `14" Intel Core i5 16 Go 512 Go SSD`. */
  qualifier: string
  /** One sentence of description specific to the product. */
  sentence: string
  /** The axis variants of this product differ on, with its possible values. */
  axis: { name: string; values: string[] }
}

const ENERGY = ['A', 'B', 'C', 'D', 'E'] as const

function colorAxis(rng: Random): { name: string; values: string[] } {
  return { name: 'color', values: rng.sample(COLORS, 4) }
}

/** Realistic technical specifications by product family. */
export function specsFor(family: Family, rng: Random, leafName: string): ProductSpecs {
  switch (family) {
    case 'laptop': {
      const gaming = leafName.includes('gaming')
      const screen = gaming ? rng.pick(['15.6', '16', '17.3']) : rng.pick(['13.3', '14', '15.6'])
      const cpu = gaming
        ? rng.pick(['Intel Core i7-13650HX', 'AMD Ryzen 7 7840HS', 'Intel Core i9-13900H'])
        : rng.pick([
            'Intel Core i5-1335U',
            'Intel Core i7-1355U',
            'AMD Ryzen 5 7530U',
            'Intel Core Ultra 7 155H',
          ])
      const ram = rng.pick(gaming ? [16, 32] : [8, 16, 32])
      const storage = rng.pick([512, 1024, gaming ? 2048 : 256])
      const specs: JsonObject = {
        screen_inches: Number(screen),
        resolution: rng.pick(['1920x1080', '1920x1200', '2560x1600']),
        cpu,
        ram_gb: ram,
        storage_gb: storage,
        storage_type: 'SSD NVMe',
        os: 'Windows 11 Famille',
        battery_wh: rng.int(45, 90),
        keyboard_layout: 'AZERTY',
        warranty_years: 2,
      }
      if (gaming)
        specs.gpu = rng.pick(['NVIDIA GeForce RTX 4060', 'NVIDIA GeForce RTX 4070', 'AMD Radeon RX 7600S'])
      return {
        specs,
        qualifier: `${screen.replace('.', ',')}" ${cpu} ${ram} Go ${storage >= 1024 ? `${storage / 1024} To` : `${storage} Go`} SSD`,
        sentence: `Processeur ${cpu}, ${ram} Go de mémoire et écran ${screen.replace('.', ',')} pouces pour ${gaming ? 'jouer en haute définition' : 'travailler partout'}.`,
        axis: { name: 'ram', values: ['8 Go', '16 Go', '32 Go'] },
      }
    }
    case 'keyboard': {
      const link = rng.pick(['Bluetooth', 'USB 2,4 GHz', 'Bluetooth + USB'])
      return {
        specs: {
          layout: 'AZERTY',
          connectivity: link,
          backlit: rng.chance(0.5),
          battery_months: rng.int(6, 36),
        },
        qualifier: `AZERTY ${link}`,
        sentence: `Frappe silencieuse, disposition AZERTY française et connexion ${link}.`,
        axis: colorAxis(rng),
      }
    }
    case 'mouse': {
      const dpi = rng.pick([1000, 4000, 8000, 16000, 25600])
      return {
        specs: {
          dpi,
          buttons: rng.int(3, 8),
          connectivity: rng.pick(['Bluetooth', 'USB 2,4 GHz']),
          weight_g: rng.int(60, 140),
        },
        qualifier: `${dpi} DPI`,
        sentence: `Capteur optique ${dpi} DPI et prise en main ergonomique.`,
        axis: colorAxis(rng),
      }
    }
    case 'storage': {
      const capacity = rng.pick([500, 1000, 2000, 4000])
      const external = leafName.includes('externe')
      const label = capacity >= 1000 ? `${capacity / 1000} To` : `${capacity} Go`
      return {
        specs: {
          capacity_gb: capacity,
          interface: external ? 'USB 3.2 Gen 2' : rng.pick(['NVMe PCIe 4.0', 'NVMe PCIe 3.0', 'SATA III']),
          read_mb_s: external ? rng.int(400, 1050) : rng.int(550, 7400),
          write_mb_s: external ? rng.int(400, 1000) : rng.int(500, 6900),
          form_factor: external ? '2,5"' : rng.pick(['M.2 2280', '2,5"']),
          warranty_years: rng.pick([3, 5]),
        },
        qualifier: label,
        sentence: `Capacité de ${label} pour vos sauvegardes et vos jeux.`,
        axis: { name: 'capacity', values: ['500 Go', '1 To', '2 To', '4 To'] },
      }
    }
    case 'coffee': {
      const kind = rng.pick(['Expresso broyeur', 'Machine à capsules', 'Cafetière filtre'])
      const power = rng.pick([1000, 1350, 1450, 1500])
      return {
        specs: {
          type: kind,
          pressure_bar: kind === 'Cafetière filtre' ? null : rng.pick([15, 19]),
          power_w: power,
          water_tank_l: rng.pick([1, 1.2, 1.8, 2]),
          energy_class: rng.pick(ENERGY),
          warranty_years: 2,
        },
        qualifier: `${kind} ${power} W`,
        sentence: `${kind} de ${power} W, réservoir amovible et arrêt automatique.`,
        axis: colorAxis(rng),
      }
    }
    case 'kettle': {
      const capacity = rng.pick(['1', '1,5', '1,7'])
      return {
        specs: {
          capacity_l: Number(capacity.replace(',', '.')),
          power_w: rng.pick([2200, 2400]),
          material: rng.pick(['Inox', 'Verre', 'Plastique sans BPA']),
        },
        qualifier: `${capacity} L`,
        sentence: `Capacité de ${capacity} litre, filtre anticalcaire et socle 360°.`,
        axis: colorAxis(rng),
      }
    }
    case 'vacuum': {
      const runtime = rng.int(30, 90)
      return {
        specs: {
          runtime_min: runtime,
          suction_aw: rng.int(100, 240),
          dust_capacity_l: rng.pick([0.4, 0.5, 0.76]),
          noise_db: rng.int(62, 82),
          energy_class: rng.pick(ENERGY),
        },
        qualifier: `${runtime} min d'autonomie`,
        sentence: `Jusqu'à ${runtime} minutes d'autonomie et filtration HEPA.`,
        axis: colorAxis(rng),
      }
    }
    case 'iron': {
      const power = rng.pick([2400, 2600, 2800, 3000])
      const station = leafName.includes('Centrales')
      return {
        specs: {
          power_w: power,
          steam_g_min: rng.int(35, 180),
          pressure_bar: station ? rng.pick([6, 7, 7.5]) : null,
          soleplate: rng.pick(['Microsteam 400', 'SteamGlide', 'Durilium AirGlide']),
        },
        qualifier: `${power} W`,
        sentence: `${power} W et débit vapeur continu pour un repassage rapide.`,
        axis: colorAxis(rng),
      }
    }
    case 'tv': {
      const inches = rng.pick([43, 50, 55, 65, 75])
      return {
        specs: {
          screen_inches: inches,
          screen_cm: Math.round(inches * 2.54),
          resolution: '3840x2160',
          hdr: rng.pick(['HDR10+', 'Dolby Vision', 'HDR10, HLG']),
          refresh_hz: rng.pick([50, 100, 120]),
          smart_tv: rng.pick(['Tizen', 'Google TV', 'Android TV']),
          hdmi_ports: rng.int(2, 4),
          energy_class: rng.pick(['E', 'F', 'G']),
        },
        qualifier: `${inches}" (${Math.round(inches * 2.54)} cm) 4K UHD`,
        sentence: `Dalle ${inches} pouces 4K UHD, HDR et Smart TV intégrée.`,
        axis: { name: 'size', values: ['43"', '50"', '55"', '65"'] },
      }
    }
    case 'headphones': {
      const anc = rng.chance(0.6)
      return {
        specs: {
          type: rng.pick(['Circum-auriculaire', 'Intra-auriculaire', 'Supra-auriculaire']),
          noise_cancelling: anc,
          battery_h: rng.int(20, 60),
          bluetooth: '5.3',
          codecs: ['SBC', 'AAC'],
        },
        qualifier: anc ? 'à réduction de bruit' : 'sans fil',
        sentence: anc
          ? 'Réduction de bruit active et jusqu’à 30 heures d’écoute.'
          : 'Son équilibré et connexion multipoint.',
        axis: colorAxis(rng),
      }
    }
    case 'speaker': {
      const power = rng.pick([10, 20, 30, 40, 100])
      return {
        specs: {
          power_w: power,
          battery_h: rng.int(10, 24),
          waterproof: rng.pick(['IPX4', 'IP67']),
          bluetooth: '5.3',
          party_mode: rng.chance(0.5),
        },
        qualifier: `${power} W`,
        sentence: `Enceinte portable ${power} W, étanche et résistante aux chocs.`,
        axis: colorAxis(rng),
      }
    }
    case 'camera': {
      const mp = rng.pick([24.2, 26, 33, 45.7])
      return {
        specs: {
          sensor: rng.pick(['Plein format', 'APS-C']),
          megapixels: mp,
          video: rng.pick(['4K 30p', '4K 60p', '6K 30p']),
          stabilization: true,
          weight_g: rng.int(350, 750),
        },
        qualifier: `${String(mp).replace('.', ',')} Mpx`,
        sentence: `Capteur ${String(mp).replace('.', ',')} mégapixels et vidéo 4K.`,
        axis: { name: 'kit', values: ['Boîtier nu', 'Kit 18-45 mm', 'Kit 24-105 mm'] },
      }
    }
    case 'lens': {
      const focal = rng.pick(['24-70 mm', '70-200 mm', '50 mm', '85 mm', '16-35 mm', '100-400 mm'])
      const aperture = rng.pick(['f/1.8', 'f/2.8', 'f/4', 'f/4.5-5.6'])
      return {
        specs: {
          focal_length: focal,
          aperture,
          mount: rng.pick(['RF', 'Z', 'E']),
          stabilized: rng.chance(0.5),
          filter_mm: rng.pick([58, 67, 77, 82]),
        },
        qualifier: `${focal} ${aperture}`,
        sentence: `Objectif ${focal} ${aperture}, mise au point rapide et silencieuse.`,
        axis: { name: 'mount', values: ['RF', 'Z', 'E'] },
      }
    }
    case 'powertool': {
      const volts = rng.pick([12, 18, 36])
      const batteries = rng.int(0, 2)
      const ah = rng.pick([2, 4, 5])
      return {
        specs: {
          voltage_v: volts,
          battery_ah: batteries > 0 ? ah : null,
          batteries_included: batteries,
          torque_nm: rng.int(30, 130),
          brushless: rng.chance(0.5),
          case_included: rng.chance(0.6),
        },
        qualifier:
          batteries > 0
            ? `${volts} V, ${batteries} batterie${batteries > 1 ? 's' : ''} ${ah} Ah`
            : `${volts} V (sans batterie)`,
        sentence: `Outil ${volts} V ${batteries > 0 ? `livré avec ${batteries} batterie(s)` : 'livré sans batterie ni chargeur'}.`,
        axis: { name: 'pack', values: ['Sans batterie', '1 batterie', '2 batteries'] },
      }
    }
    case 'garden': {
      const width = rng.pick([32, 37, 40, 46])
      return {
        specs: {
          cutting_width_cm: width,
          power_source: rng.pick(['Batterie 36 V', 'Électrique 1400 W', 'Thermique 140 cm³']),
          grass_box_l: rng.pick([30, 40, 50, null]),
          surface_m2: width * 12,
        },
        qualifier: `${width} cm`,
        sentence: `Largeur de coupe de ${width} cm, pour des jardins jusqu'à ${width * 12} m².`,
        axis: { name: 'pack', values: ['Sans batterie', '1 batterie', '2 batteries'] },
      }
    }
    case 'phone': {
      const storage = rng.pick([128, 256, 512])
      const refurbished = leafName.includes('reconditionnés')
      const specs: JsonObject = {
        screen_inches: rng.pick([6.1, 6.4, 6.6, 6.8]),
        storage_gb: storage,
        ram_gb: rng.pick([6, 8, 12]),
        camera_mp: rng.pick([50, 108, 200]),
        network: '5G',
        os: 'Android 14',
        dual_sim: true,
      }
      if (refurbished) specs.grade = rng.pick(['Parfait état', 'Très bon état', 'Bon état'])
      return {
        specs,
        qualifier: `${storage} Go 5G`,
        sentence: refurbished
          ? `Reconditionné en France, testé sur 40 points et garanti 12 mois.`
          : `Écran AMOLED, ${storage} Go de stockage et triple capteur photo.`,
        axis: { name: 'storage', values: ['128 Go', '256 Go', '512 Go'] },
      }
    }
    case 'charger': {
      const power = rng.pick([20, 30, 45, 65, 100])
      return {
        specs: {
          power_w: power,
          ports: rng.pick(['1x USB-C', '2x USB-C', '2x USB-C + 1x USB-A']),
          gan: rng.chance(0.6),
          power_delivery: true,
        },
        qualifier: `${power} W`,
        sentence: `Charge rapide Power Delivery jusqu'à ${power} W.`,
        axis: colorAxis(rng),
      }
    }
    case 'case': {
      const model = rng.pick(['Galaxy S24', 'Galaxy A55', 'Redmi Note 13', 'Xiaomi 14', 'Galaxy S23 FE'])
      return {
        specs: {
          compatible_with: model,
          material: rng.pick(['Silicone', 'TPU', 'Cuir végan', 'Polycarbonate']),
          magsafe: false,
        },
        qualifier: `pour ${model}`,
        sentence: `Protection fine et antichoc pour ${model}.`,
        axis: colorAxis(rng),
      }
    }
  }
}
