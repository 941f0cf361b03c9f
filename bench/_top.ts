import { topSelfTime } from './src/profile'
const r = topSelfTime(process.argv[2]!, 40)
console.log('total', r.totalMs.toFixed(0), 'busy', r.busyMs.toFixed(0))
for (const p of r.packages.slice(0, 15)) console.log(p.name.padEnd(50), p.selfPercent.toFixed(1))
for (const t of r.top) console.log(t.selfPercent.toFixed(1).padStart(5), t.function, t.location)
