import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const ROOT = new URL('../../../', import.meta.url).pathname

/** `pm …` run as a user runs it (tsx, from the repository root), with exactly `env`; its exit code and output. */
export async function runPm(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      `${ROOT}node_modules/.bin/tsx`,
      ['apps/pm/src/main.ts', ...args],
      { cwd: ROOT, env },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
