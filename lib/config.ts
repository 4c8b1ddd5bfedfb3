/**
 * The one reader of configuration. Everything else receives plain values from here.
 *
 * Deployed with SST, secrets arrive as linked resources (`Resource.DatabaseUrl.value`);
 * elsewhere (tests, the dev server, a plain Lambda) as environment variables. A linked
 * resource wins over the variable of the same meaning.
 *
 * Each variable is checked by a valibot schema, and the first problem becomes a
 * `ConfigError` whose message names the variable: `PORT: must be a whole number ...`.
 * Messages never repeat a value back, since some values are secrets (a database URL holds
 * a password).
 */
import { Resource } from 'sst/resource'
import * as v from 'valibot'
import { ConfigError } from './config-error.ts'
import type { DriverSettings } from './db/driver.ts'
import { isPostgresUrl } from './db/urls.ts'
import { readCorsPolicy, type CorsPolicy } from './http/cors-policy.ts'

export { ConfigError, isPostgresUrl }

export type Env = Readonly<Record<string, string | undefined>>

const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/

const port = (min: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,5}$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be a port number from ${min} to 65535`),
    v.maxValue(65535, `must be a port number from ${min} to 65535`),
  )

const databaseUrl = v.pipe(
  v.string(),
  v.check(isPostgresUrl, 'must be a postgres:// or postgresql:// URL with a host, e.g. postgres://user:password@127.0.0.1:5432/app'),
)

const wsProxy = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port of a WebSocket proxy, e.g. 127.0.0.1:5480'),
)

const jwtSecret = v.pipe(v.string(), v.minLength(32, 'must be at least 32 characters'))

/**
 * The dev tools' schema, built when they read it: a bundler cannot tell that a schema built
 * at module level is unused, and every function would carry this one.
 */
function devSchema() {
  const username = v.pipe(v.string(), v.regex(USERNAME_PATTERN, 'must be 3-32 characters of a-z 0-9 _ . -'))
  const password = v.pipe(v.string(), v.minLength(8, 'must be 8 to 128 characters'), v.maxLength(128, 'must be 8 to 128 characters'))
  const email = v.pipe(v.string(), v.maxLength(254, 'must be at most 254 characters'), v.email('must be an email address'))
  return v.object({
    PORT: v.optional(port(0), '3000'),
    DATABASE_URL: v.optional(databaseUrl),
    ADMIN_USERNAME: v.optional(username),
    ADMIN_PASSWORD: v.optional(password),
    ADMIN_EMAIL: v.optional(email),
    JWT_SECRET: v.optional(jwtSecret),
    PGLITE_DATA_DIR: v.optional(v.pipe(v.string(), v.minLength(1)), '.data/pglite'),
    PGLITE_PORT: v.optional(port(0), '0'),
    WS_PROXY_PORT: v.optional(port(0), '0'),
  })
}

const count = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,9}$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be from ${min} to ${max}`),
    v.maxValue(max, `must be from ${min} to ${max}`),
  )

const FunctionSchema = v.object({
  DATABASE_URL: databaseUrl,
  DATABASE_REPLICA_URL: v.optional(databaseUrl),
  DATABASE_WS_PROXY: v.optional(wsProxy),
  DATABASE_POOL_MAX: v.optional(count(1, 100), '2'),
  DATABASE_CONNECT_TIMEOUT_MS: v.optional(count(100, 60_000), '2000'),
  DATABASE_QUERY_TIMEOUT_MS: v.optional(count(100, 300_000), '5000'),
  DATABASE_IDLE_TIMEOUT_MS: v.optional(count(1_000, 3_600_000), '60000'),
  DATABASE_IDLE_CHECK_MS: v.optional(count(0, 3_600_000), '30000'),
  DATABASE_PING_TIMEOUT_MS: v.optional(count(50, 60_000), '300'),
  DATABASE_RETRY_ATTEMPTS: v.optional(count(1, 10), '4'),
  DATABASE_BREAKER_THRESHOLD: v.optional(count(1, 1000), '5'),
  DATABASE_BREAKER_COOLDOWN_MS: v.optional(count(100, 600_000), '500'),
})

/** Empty strings count as unset, as they do in most shells' `VAR= cmd`. */
function present(env: Env, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = env[name]
    if (value !== undefined && value !== '') out[name] = value
  }
  return out
}

function parse<const TSchema extends v.ObjectSchema<v.ObjectEntries, undefined>>(
  schema: TSchema,
  env: Env,
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, present(env, Object.keys(schema.entries)))
  if (result.success) return result.output
  const issue = result.issues[0]
  const variable = String(issue.path?.[0]?.key ?? 'configuration')
  const message = issue.kind === 'schema' && issue.received === 'undefined' ? 'is required' : issue.message
  throw new ConfigError(variable, message)
}

export interface AdminConfig {
  readonly username: string
  readonly password: string
  readonly email: string
  /** True when the development defaults were used (embedded database only). */
  readonly isDefault: boolean
}

export interface DevConfig {
  readonly port: number
  /** An external server; undefined means the embedded PGlite. */
  readonly databaseUrl: string | undefined
  readonly admin: AdminConfig | undefined
  readonly jwtSecret: string | undefined
  readonly pglite: { readonly dataDir: string; readonly port: number }
  /** Port of the local Neon WebSocket proxy; 0 picks a free one (`sst dev` fixes it). */
  readonly wsProxyPort: number
  /** The CORS policy the app applies (CORS_ORIGINS); read here too so that a bad value stops the start. */
  readonly cors: CorsPolicy | undefined
}

export const DEV_ADMIN = { username: 'admin', password: 'admin-dev-password' } as const

/** Configuration of `npm run dev` and `npm run migrate`. */
export function readDevConfig(env: Env, resources: LinkedResources = Resource): DevConfig {
  // Under `sst shell` (npm run migrate against a deployed stage) the stage's secrets stand in.
  const parsed = parse(devSchema(), withLinked(env, resources))
  const embedded = parsed.DATABASE_URL === undefined
  return {
    port: parsed.PORT,
    databaseUrl: parsed.DATABASE_URL,
    admin: readAdmin(parsed, embedded),
    jwtSecret: parsed.JWT_SECRET,
    pglite: { dataDir: parsed.PGLITE_DATA_DIR, port: parsed.PGLITE_PORT },
    wsProxyPort: parsed.WS_PROXY_PORT,
    cors: readCorsPolicy(env),
  }
}

function readAdmin(parsed: v.InferOutput<ReturnType<typeof devSchema>>, embedded: boolean): AdminConfig | undefined {
  const { ADMIN_USERNAME: name, ADMIN_PASSWORD: secret } = parsed
  if (name === undefined && secret === undefined) {
    if (!embedded) return undefined
    return { ...DEV_ADMIN, email: parsed.ADMIN_EMAIL ?? `${DEV_ADMIN.username}@example.com`, isDefault: true }
  }
  if (name === undefined) throw new ConfigError('ADMIN_USERNAME', 'is required when ADMIN_PASSWORD is set')
  if (secret === undefined) throw new ConfigError('ADMIN_PASSWORD', 'is required when ADMIN_USERNAME is set')
  return { username: name, password: secret, email: parsed.ADMIN_EMAIL ?? `${name}@example.com`, isDefault: false }
}

export interface FunctionConfig {
  readonly databaseUrl: string
  /** A read replica, tried for reads when the primary cannot answer in time. */
  readonly replicaUrl: string | undefined
  readonly driver: DriverSettings
  readonly pool: {
    readonly max: number
    readonly connectionTimeoutMillis: number
    readonly queryTimeoutMillis: number
    readonly idleTimeoutMillis: number
    /** A connection idle longer than this is pinged before use (a thawed Lambda's may be dead). */
    readonly idleCheckMillis: number
    /** How long that check may take before the connection is taken for dead. */
    readonly pingTimeoutMillis: number
  }
  readonly resilience: { readonly maxAttempts: number; readonly breakAfter: number; readonly cooldownMs: number }
}

/** What SST links to a function: `{ DatabaseUrl: { value } }`, or nothing outside SST. */
export type LinkedResources = object

/**
 * Linked values by the name `Resource` gives them, and the variables they stand for: SST
 * secrets, and in `sst dev` the local database's URL and proxy (infra/dev.ts).
 */
export const LINKED_SECRETS = {
  DatabaseUrl: 'DATABASE_URL',
  DatabaseReplicaUrl: 'DATABASE_REPLICA_URL',
  JwtSecret: 'JWT_SECRET',
  RedisUrl: 'REDIS_URL',
  AdminUsername: 'ADMIN_USERNAME',
  AdminPassword: 'ADMIN_PASSWORD',
  DatabaseWsProxy: 'DATABASE_WS_PROXY',
} as const

/** The environment with every linked secret in place of its variable (a linked one wins). */
function withLinked(env: Env, resources: LinkedResources): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...env }
  for (const [name, variable] of Object.entries(LINKED_SECRETS)) merged[variable] = linkedValue(resources, name) ?? env[variable]
  return merged
}

function linkedValue(resources: LinkedResources, name: string): string | undefined {
  if (!(name in resources)) return undefined
  const resource: unknown = Reflect.get(resources, name)
  const value: unknown = typeof resource === 'object' && resource !== null ? Reflect.get(resource, 'value') : undefined
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Configuration of a deployed function (or of one that tests and the dev server run). */
export function readFunctionConfig(env: Env, resources: LinkedResources = Resource): FunctionConfig {
  const parsed = parse(FunctionSchema, withLinked(env, resources))
  return {
    databaseUrl: parsed.DATABASE_URL,
    replicaUrl: parsed.DATABASE_REPLICA_URL,
    driver: parsed.DATABASE_WS_PROXY === undefined ? { mode: 'neon' } : { mode: 'local', wsProxy: parsed.DATABASE_WS_PROXY },
    pool: {
      max: parsed.DATABASE_POOL_MAX,
      connectionTimeoutMillis: parsed.DATABASE_CONNECT_TIMEOUT_MS,
      queryTimeoutMillis: parsed.DATABASE_QUERY_TIMEOUT_MS,
      idleTimeoutMillis: parsed.DATABASE_IDLE_TIMEOUT_MS,
      idleCheckMillis: parsed.DATABASE_IDLE_CHECK_MS,
      pingTimeoutMillis: parsed.DATABASE_PING_TIMEOUT_MS,
    },
    resilience: {
      maxAttempts: parsed.DATABASE_RETRY_ATTEMPTS,
      breakAfter: parsed.DATABASE_BREAKER_THRESHOLD,
      cooldownMs: parsed.DATABASE_BREAKER_COOLDOWN_MS,
    },
  }
}

const AuthSchema = v.object({
  JWT_SECRET: jwtSecret,
  TOKEN_TTL_SECONDS: v.optional(count(60, 2_592_000), '1800'),
})

export interface AuthConfig {
  /** The HMAC key of access tokens (HS256). */
  readonly jwtSecret: string
  /** How long an access token is good for. */
  readonly tokenTtlSeconds: number
}

/** Configuration of the routes that issue or check access tokens. */
export function readAuthConfig(env: Env, resources: LinkedResources = Resource): AuthConfig {
  const parsed = parse(AuthSchema, withLinked(env, resources))
  return { jwtSecret: parsed.JWT_SECRET, tokenTtlSeconds: parsed.TOKEN_TTL_SECONDS }
}

const redisUrl = v.pipe(
  v.string(),
  v.check((value) => {
    try {
      const url = new URL(value)
      return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
    } catch {
      return false
    }
  }, 'must be a redis:// or rediss:// URL with a host'),
)

const CacheSchema = v.object({
  REDIS_URL: v.optional(redisUrl),
  REDIS_COMMAND_TIMEOUT_MS: v.optional(count(10, 10_000), '100'),
})

export interface CacheConfig {
  /** The shared cache tier; undefined keeps the cache in the instance only. */
  readonly redisUrl: string | undefined
  readonly commandTimeoutMs: number
  /**
   * The database the kept values are of (host, port, database name; no credentials): two
   * services, stages or test runs with one Redis keep apart what is kept of their own users.
   */
  readonly database: string
}

export function readCacheConfig(env: Env, resources: LinkedResources = Resource): CacheConfig {
  const linked = withLinked(env, resources)
  const parsed = parse(CacheSchema, linked)
  return { redisUrl: parsed.REDIS_URL, commandTimeoutMs: parsed.REDIS_COMMAND_TIMEOUT_MS, database: databaseOf(linked.DATABASE_URL) }
}

function databaseOf(url: string | undefined): string {
  try {
    const { hostname, port, pathname } = new URL(url ?? '')
    return `${hostname}:${port}${pathname}`
  } catch {
    return ''
  }
}

const ThrottleSchema = v.object({
  SIGN_IN_USERNAME_LIMIT: v.optional(count(1, 10_000), '10'),
  SIGN_IN_ADDRESS_LIMIT: v.optional(count(1, 1_000_000), '100'),
  SIGN_IN_WINDOW_SECONDS: v.optional(count(1, 86_400), '900'),
})

export interface ThrottleConfig {
  /** Failed sign-ins a username may have in a window; one more is refused (429). */
  readonly perUsername: number
  /** Failed sign-ins one client address may have in a window. */
  readonly perAddress: number
  readonly windowSeconds: number
}

/** Configuration of the sign-in throttle (lib/auth/throttle.ts). */
export function readThrottleConfig(env: Env): ThrottleConfig {
  const parsed = parse(ThrottleSchema, env)
  return { perUsername: parsed.SIGN_IN_USERNAME_LIMIT, perAddress: parsed.SIGN_IN_ADDRESS_LIMIT, windowSeconds: parsed.SIGN_IN_WINDOW_SECONDS }
}
