/**
 * Preloaded into our gateway by `pnpm bench --profile` (node --import): SIGUSR2 starts the V8 CPU profiler,
 * the next SIGUSR2 stops it and writes BENCH_PROFILE_FILE, so the profile covers the measured window only.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

const file = process.env.BENCH_PROFILE_FILE
if (file) {
  const session = new Session()
  session.connect()
  let running = false
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true
      session.post('Profiler.enable', () => session.post('Profiler.start'))
      return
    }
    running = false
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(file, JSON.stringify(result.profile))
    })
  })
}
