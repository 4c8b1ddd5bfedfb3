/**
 * `npm run dev:lambda`: the service as it runs on AWS, on one machine. Every function of the
 * manifest is built (as `npm run build` does) and served by the Lambda emulator
 * (lib/dev/emulator/emulator.ts) on http://127.0.0.1:PORT, against the embedded database or
 * DATABASE_URL: a process per instance, cold starts, freezing, throttling, REPORT lines.
 * LAMBDA_CONCURRENCY (default 10) and LAMBDA_IDLE_MS (default 60000) set the model.
 */
import { mkdirSync } from 'node:fs'
import { ConfigError, readDevConfig } from '../config.ts'
import { fail, stopOnSignals } from './cli.ts'
import { setUpDevDatabase } from './setup.ts'
import { startEmulator } from './emulator/emulator.ts'
import { buildManifestFunctions } from './emulator/manifest.ts'

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
  const stops = stopOnSignals()
  const setup = await setUpDevDatabase(config, stops)
  const out = '.data/lambda-build'
  mkdirSync(out, { recursive: true })
  const functions = await buildManifestFunctions(out)
  console.log(`build     ${functions.length} functions in ${out}`)
  // Instances see only what a Lambda function would: its configuration, not this shell's.
  // CORS_ORIGINS as the deployment gives it (infra/api.ts); where API Gateway would answer a
  // preflight itself, the `$default` function answers it here, by the same policy.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...setup.env,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...(process.env.CORS_ORIGINS ? { CORS_ORIGINS: process.env.CORS_ORIGINS } : {}),
  }
  const emulator = await startEmulator({ functions, env, port: config.port, concurrency, idleMs })
  stops.push(() => emulator.close())
  console.log(`lambda    ${emulator.url}  (API Gateway payload 2.0; ${concurrency} instances per function at most; idle instances frozen, shut down after ${idleMs} ms)`)
}

main().catch(fail)
