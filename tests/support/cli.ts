import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface ToolOptions {
  /** Command-line arguments, as after `npm run <script> --`. */
  readonly args?: readonly string[]
  /** Killed and failed after this long (finished(): 60 s). */
  readonly timeoutMs?: number
}

/** Runs one of the project's TypeScript commands as `npm run` would, with its own env. */
export function spawnTool(script: string, env: Record<string, string | undefined>, { args = [] }: ToolOptions = {}): ChildProcess {
  const clean: Record<string, string> = {}
  for (const [key, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined) clean[key] = value
  }
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env: clean, stdio: ['ignore', 'pipe', 'pipe'] })
}

export function finished(child: ChildProcess, timeoutMs = 60_000): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, stdout, stderr }))
    })
  })
}

export function runTool(script: string, env: Record<string, string | undefined>, options: ToolOptions = {}): Promise<Finished> {
  return finished(spawnTool(script, env, options), options.timeoutMs)
}
