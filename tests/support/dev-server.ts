/** `npm run dev` in a child process, for tests that talk to it over HTTP as a user would. */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnTool } from './cli.ts'
import { uniqueName } from './database.ts'

const SERVER = 'lib/dev/server.ts'

export interface Running {
  readonly child: ChildProcess
  readonly api: string
  readonly psql: string | undefined
  readonly output: () => string
}

/** Starts the dev server and waits for its "ready" line. */
export async function startDev(env: Record<string, string | undefined>): Promise<Running> {
  const child = spawnTool(SERVER, { PORT: '0', ...env })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL') // nothing would stop it: the caller has no Running to stop
      reject(new Error(`dev server not ready in 60 s:\n${output}`))
    }, 60_000)
    const check = () => {
      if (/^ready in /m.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`dev server exited with ${code}:\n${output}`))
    })
  })
  const api = /^api\s+(http:\/\/\S+)/m.exec(output)?.[1]
  assert.ok(api, output)
  return { child, api, psql: /psql "([^"]+)"/.exec(output)?.[1], output: () => output }
}

export async function stopDev(running: Running): Promise<number | null> {
  const exit = new Promise<number | null>((resolve) => running.child.once('exit', resolve))
  running.child.kill('SIGINT')
  return exit
}


export interface OwnDev {
  readonly running: Running
  /** Its super_admin's username and password. */
  readonly admin: { readonly username: string; readonly password: string }
  /** Stops it and removes its data folder. */
  stop(): Promise<void>
}

/**
 * The dev server on `databaseUrl` (undefined: an embedded PGlite in a data folder of its
 * own), with a super_admin of its own; `env` adds settings.
 */
export async function startOwnDev(databaseUrl: string | undefined, env: Record<string, string> = {}): Promise<OwnDev> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'users-dev-'))
  const admin = { username: uniqueName('root').replace(/_/g, '.'), password: 'the root password' }
  try {
    const running = await startDev({ DATABASE_URL: databaseUrl, PGLITE_DATA_DIR: join(dataRoot, 'pglite'), ADMIN_USERNAME: admin.username, ADMIN_PASSWORD: admin.password, ...env })
    return {
      running,
      admin,
      async stop() {
        await stopDev(running)
        rmSync(dataRoot, { recursive: true, force: true })
      },
    }
  } catch (error) {
    rmSync(dataRoot, { recursive: true, force: true })
    throw error
  }
}
