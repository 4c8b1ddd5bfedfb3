/**
 * `npm run dev:lambda`: the service as it runs on AWS, on one machine. Every function of the
 * manifest is built (as `npm run build` does) and served by the Lambda emulator
 * (lib/dev/emulator/emulator.ts) on http://127.0.0.1:PORT, against the embedded database or
 * DATABASE_URL: a process per instance, cold starts, freezing, throttling, REPORT lines.
 * LAMBDA_CONCURRENCY (default 10) and LAMBDA_IDLE_MS (default 60000) set the model.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { ConfigError, readDevConfig } from '../config.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { DEFAULT_ENTRY, MANIFEST } from '../manifest.ts'
import { ensureSuperAdmin } from '../users/repository.ts'
import { buildFunction } from './build.ts'
import { fail, stopOnSignals } from './cli.ts'
import { functionEnv, openDevDatabase } from './database.ts'
import { startEmulator } from './emulator/emulator.ts'

function whole(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new ConfigError(name, 'must be a whole number of at least 1')
  return Number(text)
}

async function main(): Promise<void> {
  const config = readDevConfig(process.env)
  const concurrency = whole('LAMBDA_CONCURRENCY', 10)
  const idleMs = whole('LAMBDA_IDLE_MS', 60_000)
  const database = await openDevDatabase({ databaseUrl: config.databaseUrl, dataDir: config.pglite.dataDir, pglitePort: config.pglite.port })
  const stops = stopOnSignals()
  stops.push(() => database.close())
  for (const line of database.summary) console.log(line)
  await migrate({ url: database.url })
  if (config.admin) {
    const pool = createPool({ url: database.url, max: 1 })
    await ensureSuperAdmin(pool, config.admin).finally(() => pool.end())
    console.log(`admin     super_admin "${config.admin.username}"${config.admin.isDefault ? ` (password "${config.admin.password}", development default)` : ''}`)
  }
  const out = '.data/lambda-build'
  mkdirSync(out, { recursive: true })
  const functions = []
  for (const route of MANIFEST) {
    functions.push({ routeKey: `${route.method} ${route.path}`, bundle: (await buildFunction(route.entry, out)).file, timeoutMs: 10_000, memoryMb: 'memoryMb' in route ? route.memoryMb : 512 })
  }
  functions.push({ routeKey: '$default', bundle: (await buildFunction(DEFAULT_ENTRY, out)).file, timeoutMs: 3_000, memoryMb: 128 })
  console.log(`build     ${functions.length} functions in ${out}`)
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...functionEnv(database),
    JWT_SECRET: config.jwtSecret ?? randomBytes(32).toString('base64url'),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  }
  const emulator = await startEmulator({ functions, env, port: config.port, concurrency, idleMs })
  stops.push(() => emulator.close())
  console.log(`lambda    ${emulator.url}  (API Gateway payload 2.0; ${concurrency} instances per function at most; idle instances frozen, shut down after ${idleMs} ms)`)
}

main().catch(fail)
