/**
 * The load tool's command line: a scenario and its options, checked before anything starts.
 * A wrong value is one line naming the option; nothing is half started.
 */
import { parseArgs } from 'node:util'
import { ConfigError, isPostgresUrl, readCacheConfig, readFunctionConfig } from '../../config.ts'
import type { FaultMode } from '../fault-proxy.ts'
import { readStaleAfterMs } from '../../http/stale-cache.ts'

export const SCENARIOS = ['steady', 'burst', 'ramp', 'fault'] as const
export type Scenario = (typeof SCENARIOS)[number]

/** One stretch of load: a number of connections, at a rate for a time, or a number of requests. */
export interface Phase {
  readonly label: string
  readonly connections: number
  /** Requests per second over all connections; none: as fast as answers come. */
  readonly rate?: number
  readonly seconds?: number
  /** Requests in all, one per connection at once (a burst). */
  readonly amount?: number
}

export interface Fault {
  readonly mode: FaultMode | 'sever' | 'terminate'
  readonly atSeconds: number
  readonly forSeconds: number
}

export interface LoadOptions {
  readonly scenario: Scenario
  readonly phases: readonly Phase[]
  readonly fault: Fault | undefined
  /** A deployed API; undefined starts the functions locally, in the emulator. */
  readonly url: string | undefined
  readonly token: string | undefined
  readonly username: string | undefined
  readonly password: string | undefined
  /** Where to sample pg_stat_activity for a deployed API. */
  readonly databaseUrl: string | undefined
  /** GET paths sent in turn; undefined: the users reads. */
  readonly paths: readonly string[] | undefined
  /** Local: each instance's pool size (DATABASE_POOL_MAX). */
  readonly poolMax: number
  /** Local: instances per function at most. */
  readonly concurrency: number
  /** Local: each function's timeout (Lambda's), in seconds; undefined: the deployed one. */
  readonly functionTimeoutSeconds: number | undefined
  /** Local: a PostgreSQL role connection limit for the functions. */
  readonly connectionLimit: number | undefined
  /** Local: the functions' own settings of FUNCTION_SETTINGS that the environment gives. */
  readonly functionSettings: Readonly<Record<string, string>>
  /** A request with no answer in this time counts as hung. */
  readonly timeoutSeconds: number
  readonly out: string | undefined
}

/**
 * The functions' own settings that a local run takes from the environment it is started in
 * (`DATABASE_CONNECT_TIMEOUT_MS=8000 npm run load -- burst`); the rest of the functions'
 * environment is the run's. A deployed API has its own.
 */
export const FUNCTION_SETTINGS = [
  'DATABASE_CONNECT_TIMEOUT_MS',
  'DATABASE_QUERY_TIMEOUT_MS',
  'DATABASE_IDLE_TIMEOUT_MS',
  'DATABASE_PING_TIMEOUT_MS',
  'DATABASE_RETRY_ATTEMPTS',
  'DATABASE_BREAKER_THRESHOLD',
  'DATABASE_BREAKER_COOLDOWN_MS',
  'REDIS_COMMAND_TIMEOUT_MS',
  'STALE_AFTER_MS',
] as const

export const USAGE = `usage: npm run load -- <scenario> [options]

scenarios
  steady   a steady rate:                 --rate 50 --seconds 20 --connections 10
  burst    N requests at once to cold functions:  --requests 50
  ramp     a rising rate in steps:        --from 10 --to 100 --steps 5 --seconds 20
  fault    steady for 30 s, with the database cut off from 10 s to 20 s (local only):
           --fault-at 10 --fault-for 10 --fault-mode blackhole|refuse|sever|terminate

target (default: every function built and run in the local Lambda emulator)
  --url URL              a deployed API instead (cold starts counted from x-cold-start)
  --token TOKEN          bearer token for it (or LOAD_TOKEN), or
  --username NAME        sign in (or LOAD_USERNAME) with the password in LOAD_PASSWORD
  --database-url URL     sample pg_stat_activity there (or LOAD_DATABASE_URL)
  --paths /a,/b          GET paths to send in turn (default: /users/me, /users/{id}, /users?search=)

local emulator
  --pool-max N           connections per instance (DATABASE_POOL_MAX, default 2)
  --concurrency N        instances per function at most (default 100)
  --function-timeout S   each function's timeout (default: the deployed one, 10 s; the
                         deadline that retries and fallbacks work within)
  --db-connection-limit N  connect the functions as a PostgreSQL role limited to N connections
                         (needs DATABASE_URL: the embedded PGlite has one backend)
  the functions take ${FUNCTION_SETTINGS.join(', ')}
  from the environment, e.g. DATABASE_CONNECT_TIMEOUT_MS=8000 npm run load -- burst

report
  --out DIR              where report.json, report.html and functions.log go
                         (default .data/load/<scenario>-<time>)
  --timeout S            a request unanswered this long counts as hung (default 30)`

/** Those settings that `env` gives, refused here as the functions would refuse them. */
function functionSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const settings: Record<string, string> = {}
  for (const name of FUNCTION_SETTINGS) {
    const value = env[name]
    if (value !== undefined && value !== '') settings[name] = value
  }
  const probe = { ...settings, DATABASE_URL: 'postgres://load@localhost/load', REDIS_URL: 'redis://localhost:6379' }
  readFunctionConfig(probe, {})
  readCacheConfig(probe, {})
  readStaleAfterMs(probe)
  return settings
}

interface WholeRule {
  readonly name: string
  readonly fallback: number
  readonly min?: number
  readonly max?: number
}

function whole(text: string | undefined, { name, fallback, min = 1, max = 1_000_000 }: WholeRule): number {
  if (text === undefined) return fallback
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(`--${name}`, `must be a whole number from ${min} to ${max}, not "${text}"`)
  }
  return Number(text)
}

function httpUrl(name: string, text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(name, `is not a URL: "${text}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `must be an http or https URL, not ${url.protocol}`)
  return url.toString().replace(/\/$/, '')
}

/** The paths as sent: each starts with "/", and what a request line cannot hold is %-encoded. */
function paths(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined
  return text.split(',').map((item) => {
    const path = item.trim()
    if (!path.startsWith('/') || path.startsWith('//')) throw new ConfigError('--paths', `each path starts with one "/", not "${path}"`)
    const url = new URL(path, 'http://load.invalid')
    return `${url.pathname}${url.search}`
  })
}

/** The options each scenario takes; any other is refused rather than ignored. */
const SCENARIO_OPTIONS: Record<string, readonly Scenario[]> = {
  rate: ['steady', 'fault'],
  seconds: ['steady', 'ramp', 'fault'],
  connections: ['steady', 'ramp', 'fault'],
  requests: ['burst'],
  from: ['ramp'],
  to: ['ramp'],
  steps: ['ramp'],
  'fault-at': ['fault'],
  'fault-for': ['fault'],
  'fault-mode': ['fault'],
}

/** The phases of a scenario from its options: a steady stretch, one burst, or a rising rate. */
function phasesOf(scenario: Scenario, values: Record<string, string | undefined>): Phase[] {
  // A fault lasts a third of the run: 10 s by default, longer than a statement's timeout (5 s),
  // so that the breaker opens and answers come from the cache.
  const seconds = whole(values.seconds, { name: 'seconds', fallback: scenario === 'fault' ? 30 : 20, min: 1, max: 3_600 })
  const connections = whole(values.connections, { name: 'connections', fallback: 10, min: 1, max: 1_000 })
  switch (scenario) {
    case 'burst': {
      const requests = whole(values.requests, { name: 'requests', fallback: 50, min: 1, max: 1_000 })
      return [{ label: `burst of ${requests}`, connections: requests, amount: requests }]
    }
    case 'ramp': {
      const from = whole(values.from, { name: 'from', fallback: 10 })
      const to = whole(values.to, { name: 'to', fallback: 100 })
      const steps = whole(values.steps, { name: 'steps', fallback: 5, min: 2, max: 100 })
      if (to <= from) throw new ConfigError('--to', `must be above --from (${from})`)
      if (steps > seconds) throw new ConfigError('--steps', `must be at most --seconds (${seconds}): a step lasts at least a second`)
      const each = Math.max(1, Math.round(seconds / steps))
      return Array.from({ length: steps }, (_, i) => {
        const rate = Math.round(from + ((to - from) * i) / (steps - 1))
        // autocannon shares a rate between connections in whole requests per second.
        return { label: `${rate}/s`, connections: Math.min(connections, rate), rate, seconds: each }
      })
    }
    default: {
      const rate = whole(values.rate, { name: 'rate', fallback: 50 })
      return [{ label: `${rate}/s`, connections: Math.min(connections, rate), rate, seconds }]
    }
  }
}

export function parseLoadOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): LoadOptions {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: Object.fromEntries(
        ['url', 'token', 'username', 'database-url', 'paths', 'seconds', 'rate', 'connections', 'requests', 'from', 'to', 'steps', 'fault-at', 'fault-for', 'fault-mode', 'pool-max', 'concurrency', 'function-timeout', 'db-connection-limit', 'timeout', 'out'].map((name) => [name, { type: 'string' as const }]),
      ),
    })
  } catch (error) {
    throw new ConfigError('arguments', (error as Error).message.split('\n')[0] ?? 'not understood')
  }
  const { values, positionals } = parsed
  const scenario = positionals[0]
  if (scenario === undefined) throw new ConfigError('scenario', `is required: one of ${SCENARIOS.join(', ')}`)
  if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new ConfigError('scenario', `must be one of ${SCENARIOS.join(', ')}, not "${scenario}"`)
  if (positionals.length > 1) throw new ConfigError('arguments', `one scenario at a time, not "${positionals.join(' ')}"`)
  const chosen = scenario as Scenario
  for (const [name, scenarios] of Object.entries(SCENARIO_OPTIONS)) {
    if (values[name] !== undefined && !scenarios.includes(chosen)) {
      throw new ConfigError(`--${name}`, `applies to ${scenarios.join(' and ')}, not to ${chosen}`)
    }
  }

  const url = values.url === undefined ? undefined : httpUrl('--url', values.url)
  const local = url === undefined
  const databaseUrl = values['database-url'] ?? (env.LOAD_DATABASE_URL || undefined)
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl)) throw new ConfigError(values['database-url'] === undefined ? 'LOAD_DATABASE_URL' : '--database-url', 'must be a postgres:// or postgresql:// URL')
  for (const name of ['pool-max', 'concurrency', 'function-timeout', 'db-connection-limit'] as const) {
    if (!local && values[name] !== undefined) throw new ConfigError(`--${name}`, 'applies to the local emulator only, not to --url')
  }
  if (local && values['database-url'] !== undefined) throw new ConfigError('--database-url', 'is for --url: locally, the database is the one the functions use')
  for (const name of ['token', 'username'] as const) {
    if (local && values[name] !== undefined) throw new ConfigError(`--${name}`, 'is for --url: locally, the load is signed in as a super_admin of the database')
  }

  const phases = phasesOf(chosen, values)
  let fault: Fault | undefined
  if (chosen === 'fault') {
    if (!local) throw new ConfigError('scenario', 'fault cuts the database off, which only the local emulator can do: drop --url')
    const total = phases.reduce((sum, phase) => sum + (phase.seconds ?? 0), 0)
    const atSeconds = whole(values['fault-at'], { name: 'fault-at', fallback: Math.max(1, Math.round(total / 3)), min: 0, max: total - 1 })
    const forSeconds = whole(values['fault-for'], { name: 'fault-for', fallback: Math.max(1, Math.round(total / 3)), min: 1, max: total })
    if (atSeconds + forSeconds > total) throw new ConfigError('--fault-for', `the fault must end within the run: ${atSeconds} + ${forSeconds} s is past --seconds (${total})`)
    const mode = values['fault-mode'] ?? 'blackhole'
    if (mode !== 'blackhole' && mode !== 'refuse' && mode !== 'sever' && mode !== 'terminate') throw new ConfigError('--fault-mode', `must be blackhole, refuse, sever or terminate, not "${mode}"`)
    if (mode === 'terminate' && !env.DATABASE_URL) throw new ConfigError('--fault-mode', 'terminate (pg_terminate_backend) needs a PostgreSQL server (set DATABASE_URL): the embedded PGlite has one backend')
    fault = { mode, atSeconds, forSeconds }
  }

  const username = values.username ?? (env.LOAD_USERNAME || undefined)
  const password = env.LOAD_PASSWORD || undefined
  const token = values.token ?? (env.LOAD_TOKEN || undefined)
  if (!local && token === undefined && (username === undefined || password === undefined)) {
    throw new ConfigError('--token', 'is required with --url (or LOAD_TOKEN, or --username with LOAD_PASSWORD to sign in)')
  }
  return {
    scenario: chosen,
    phases,
    fault,
    url,
    token,
    username,
    password,
    databaseUrl,
    paths: paths(values.paths),
    poolMax: whole(values['pool-max'], { name: 'pool-max', fallback: 2, min: 1, max: 100 }),
    concurrency: whole(values.concurrency, { name: 'concurrency', fallback: 100, min: 1, max: 1_000 }),
    functionTimeoutSeconds: values['function-timeout'] === undefined ? undefined : whole(values['function-timeout'], { name: 'function-timeout', fallback: 10, min: 1, max: 900 }),
    connectionLimit: values['db-connection-limit'] === undefined ? undefined : whole(values['db-connection-limit'], { name: 'db-connection-limit', fallback: 1, min: 1, max: 10_000 }),
    timeoutSeconds: whole(values.timeout, { name: 'timeout', fallback: 30, min: 1, max: 600 }),
    functionSettings: local ? functionSettings(env) : {},
    out: values.out,
  }
}
