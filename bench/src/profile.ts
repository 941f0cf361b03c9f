import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
}

export interface HotSpot {
  function: string
  location: string
  selfMs: number
  selfPercent: number
}

/** Where a frame lives, short: the package for node_modules, the repo path otherwise. */
function location(url: string, line: number): string {
  if (!url) return '(native)'
  const clean = url.replace(/^file:\/\//, '')
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(clean)
  const modules = pnpm ?? /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(clean)
  if (modules)
    return `${modules[1]}/${modules[2]!.replace(/^(dist\/(esm\/|cjs\/)?|lib\/|build\/)/, '')}:${line + 1}`
  const repo = clean.indexOf('/work/main/')
  return `${repo >= 0 ? clean.slice(repo + '/work/main/'.length) : clean}:${line + 1}`
}

/** The package (or node internals, native, our code) a hot spot belongs to. */
function packageOf(h: HotSpot): string {
  if (h.location === '(native)') return h.function.startsWith('(') ? h.function : 'native'
  if (h.location.startsWith('node:')) return 'node internals'
  const slash = h.location.indexOf('/')
  const scoped = h.location.startsWith('@')
  const name = scoped ? h.location.split('/').slice(0, 2).join('/') : h.location.slice(0, slash)
  if (['gateway', 'subgraphs', 'packages', 'bench'].includes(name)) return 'our code'
  return name.replace(/:\d+$/, '')
}

/** Self time per function (summed over its call sites) from a .cpuprofile written by node --cpu-prof. */
export function topSelfTime(
  file: string,
  limit = 20,
): { totalMs: number; busyMs: number; top: HotSpot[]; packages: { name: string; selfPercent: number }[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const totalMs = (profile.endTime - profile.startTime) / 1000
  const sampleMs = profile.samples.length ? totalMs / profile.samples.length : 0
  const byKey = new Map<string, HotSpot>()
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0
    if (hits === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    const name = functionName || '(anonymous)'
    const where = location(url, lineNumber)
    const key = `${name}@${where}`
    const entry = byKey.get(key) ?? { function: name, location: where, selfMs: 0, selfPercent: 0 }
    entry.selfMs += hits * sampleMs
    byKey.set(key, entry)
  }
  const idleMs = [...byKey.values()].filter((h) => h.function === '(idle)').reduce((a, h) => a + h.selfMs, 0)
  const busyMs = totalMs - idleMs
  const top = [...byKey.values()]
    .filter((h) => h.function !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, limit)
    .map((h) => ({ ...h, selfPercent: busyMs ? (100 * h.selfMs) / busyMs : 0 }))
  const byPackage = new Map<string, number>()
  for (const h of byKey.values()) {
    if (h.function === '(idle)') continue
    const name = packageOf(h)
    byPackage.set(name, (byPackage.get(name) ?? 0) + h.selfMs)
  }
  const packages = [...byPackage.entries()]
    .map(([name, ms]) => ({ name, selfPercent: busyMs ? (100 * ms) / busyMs : 0 }))
    .sort((a, b) => b.selfPercent - a.selfPercent)
  return { totalMs, busyMs, top, packages }
}
