/**
 * What the deployment reads from the shell that runs `sst`, and the provider versions it pins.
 * Plain code with no SST globals, so that `app()` of sst.config.ts can load it too (it runs
 * before the platform is set up) and tests can call it directly.
 */

import { ConfigError } from '../lib/config-error.ts'
import { isNeonHost, isPostgresUrl } from '../lib/db/urls.ts'
import { readCorsPolicy, type CorsPolicy } from '../lib/http/cors-policy.ts'

/**
 * The provider versions the installed SST CLI accepts: those its platform is built against
 * (`.sst/platform/package.json` after `sst install`). SST refuses one older than its own
 * ("SST needs 6.15.0 or higher") and finds no package for some (cloudflare 5.37.1), so a pin
 * must move with `sst` in package.json; `npm run typecheck:sst` fails when they drift.
 */
export const PROVIDERS = {
  aws: '7.20.0',
  // Generates the token key of each stage (kept in the stage's state).
  random: '4.16.6',
  // Only with EDGE_WORKER=1: the Worker is opt-in, so an AWS-only user needs no Cloudflare token.
  cloudflare: '6.15.0',
} as const

/** Where `sst dev`'s local database listens (`npm run dev:db`), unless the shell says otherwise. */
export const DEV_DATABASE_PORTS = { postgres: 55432, wsProxy: 55433 } as const

export type ShellEnv = Readonly<Record<string, string | undefined>>

export interface DevDatabase {
  /** What `Resource.DatabaseUrl.value` holds in the local functions. */
  readonly url: string
  /** `host:port` of the local Neon WebSocket proxy; undefined for a Neon URL (Neon's own). */
  readonly wsProxy: string | undefined
  /**
   * The environment of `npm run dev:db` under `sst dev`, beside the shell's own, which SST
   * passes to its dev commands (DATABASE_URL, ADMIN_USERNAME, ADMIN_PASSWORD reach it so).
   */
  readonly environment: Record<string, string>
}

/**
 * What the deployment cannot use: one line naming the variable, never echoing its value.
 * Named as SST's own error for users: the CLI prints an error from `run()` that reads
 * `VisibleError: …` as its message alone, and any other with its stack trace.
 */
export class VisibleError extends Error {}

const ON = ['1', 'true', 'yes', 'on']
const OFF = ['', '0', 'false', 'no', 'off']

/** EDGE_WORKER=1: deploy every route as one Cloudflare Worker too. Off unless said. */
export function readEdgeSwitch(env: ShellEnv): boolean {
  const value = (env.EDGE_WORKER ?? '').trim().toLowerCase()
  if (ON.includes(value)) return true
  if (OFF.includes(value)) return false
  throw new VisibleError('EDGE_WORKER: must be 1 (deploy the Cloudflare Worker) or 0 (do not)')
}

/**
 * XRAY_TRACING=1: Lambda's active tracing on every function, so that X-Ray records each
 * invocation and the functions send their database statements as subsegments (lib/trace.ts).
 * Off unless said: X-Ray bills per trace, and a sampled invocation sends a UDP datagram per
 * statement.
 */
export function readTracingSwitch(env: ShellEnv): boolean {
  const value = (env.XRAY_TRACING ?? '').trim().toLowerCase()
  if (ON.includes(value)) return true
  if (OFF.includes(value)) return false
  throw new VisibleError('XRAY_TRACING: must be 1 (Lambda active tracing, database statements as X-Ray subsegments) or 0 (none)')
}

/**
 * The providers `app()` declares: Cloudflare's only when the Worker is deployed. A malformed
 * EDGE_WORKER counts as off here, because SST hides what `app()` throws behind "Unexpected
 * error occurred" (sst#6194); `run()` reads the switch again and stops with its message.
 */
export function providersFor(env: ShellEnv): Record<string, string> {
  const { cloudflare, ...always } = PROVIDERS
  let edge: boolean
  try {
    edge = readEdgeSwitch(env)
  } catch {
    edge = false
  }
  return edge ? { ...always, cloudflare } : always
}

/**
 * CORS_ORIGINS: the origins whose pages may call the API, read as the functions read it
 * (lib/http/cors-policy.ts), so that API Gateway's CORS and the functions' own are one policy;
 * undefined (none) when unset. Read in dev mode too: `sst dev` deploys the API Gateway.
 */
export function readCors(env: ShellEnv): CorsPolicy | undefined {
  try {
    return readCorsPolicy(env)
  } catch (error) {
    throw error instanceof ConfigError ? new VisibleError(error.message) : error
  }
}

function readPort(env: ShellEnv, name: string, fallback: number): number {
  const value = env[name]
  if (value === undefined || value === '') return fallback
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new VisibleError(`${name}: must be a port number from 1 to 65535`)
  }
  return Number(value)
}

/**
 * `sst dev`'s database: the embedded PGlite that `npm run dev:db` starts on a fixed port, or
 * the PostgreSQL server of DATABASE_URL when the shell sets one; either reached, as Neon is
 * when deployed, over a WebSocket, through the proxy that `npm run dev:db` starts beside it.
 * Read only in dev mode: a deploy ignores these variables.
 */
export function readDevDatabase(env: ShellEnv): DevDatabase {
  const postgresPort = readPort(env, 'PGLITE_PORT', DEV_DATABASE_PORTS.postgres)
  const proxyPort = readPort(env, 'WS_PROXY_PORT', DEV_DATABASE_PORTS.wsProxy)
  const external = env.DATABASE_URL === '' ? undefined : env.DATABASE_URL
  if (external !== undefined && !isPostgresUrl(external)) {
    throw new VisibleError('DATABASE_URL: must be a postgres:// or postgresql:// URL with a host')
  }
  const neon = external !== undefined && isNeonHost(new URL(external).hostname)
  return {
    url: external ?? `postgres://postgres@127.0.0.1:${postgresPort}/postgres`,
    wsProxy: neon ? undefined : `127.0.0.1:${proxyPort}`,
    environment: { PGLITE_PORT: String(postgresPort), WS_PROXY_PORT: String(proxyPort) },
  }
}

/** The secrets a deployed stage cannot do without, and cannot make (infra/secrets.ts). */
export const REQUIRED_SECRETS = [
  { name: 'DatabaseUrl', example: "'postgres://user:password@ep-….neon.tech/db?sslmode=require'" },
  { name: 'AdminPassword', example: "'a long password'" },
] as const

/**
 * Stops a deploy whose stage lacks a required secret, with one line naming the commands to
 * run, the stage in them. SST gives a set secret to the config as SST_SECRET_<name> (the
 * value sst.Secret itself reads); its own message for a missing one names neither the stage
 * nor the other missing secrets, and comes with a stack trace.
 */
export function checkRequiredSecrets(env: ShellEnv, stage: string): void {
  const missing = REQUIRED_SECRETS.filter(({ name }) => env[`SST_SECRET_${name}`] === undefined)
  if (missing.length === 0) return
  const commands = missing.map(({ name, example }) => `npx sst secret set ${name} ${example} --stage ${stage}`)
  throw new VisibleError(`stage "${stage}" needs ${missing.map(({ name }) => name).join(' and ')}: ${commands.join(' && ')}`)
}
