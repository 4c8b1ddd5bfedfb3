/**
 * The service's one CORS policy, configured by `CORS_ORIGINS` alone: the app applies it on
 * every runtime (lib/http/cors.ts: the dev server, each Lambda function, the Worker), and
 * the deployment gives API Gateway the same (`apiGatewayCors`), since an HTTP API with CORS
 * configured answers preflights itself and drops the CORS headers of the functions' answers.
 *
 * Unset or empty, no origin but the API's own may read its answers, and no CORS header is
 * sent. Credentials are never allowed: the API takes bearer tokens, not cookies, and a page
 * sends its token itself.
 *
 * No imports but the import-free ConfigError, so that SST's build of sst.config.ts can load it
 * (infra/settings.ts reads the same variable at deploy time).
 */
import { ConfigError } from '../config-error.ts'

export interface CorsPolicy {
  /** Origins as browsers send them (`https://app.example.com`), or `['*']` for every origin. */
  readonly origins: readonly string[]
  /** What a page may send beyond a simple request: the API's methods, and its request headers. */
  readonly methods: readonly Method[]
  readonly allowHeaders: readonly string[]
  /** What a page may read of an answer beyond the safelisted headers. */
  readonly exposeHeaders: readonly string[]
  /** How long a browser may keep a preflight's answer. */
  readonly maxAgeSeconds: number
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** The same for every origin list: the API's methods and headers (tests/http/cors.test.ts checks them against the routes). */
const RULES = {
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowHeaders: ['authorization', 'content-type', 'x-request-id'],
  // The request id to report, Retry-After of a 503, a stale answer's Age and Cache-Status, a
  // created user's Location, a 401's challenge, a 405's Allow.
  exposeHeaders: ['x-request-id', 'retry-after', 'age', 'cache-status', 'location', 'www-authenticate', 'allow'],
  maxAgeSeconds: 600,
} as const satisfies Omit<CorsPolicy, 'origins'>

/**
 * `scheme://host[:port]`, an optional trailing slash, nothing else (no path, query or user),
 * and no `*` in the host, which API Gateway would read as a pattern (`https://*`: every HTTPS
 * origin) and hono/cors as a name that no origin has.
 */
const ORIGIN = /^https?:\/\/[^/?#@\s*]+\/?$/i

/** An origin as a browser sends it in `Origin` (host lower-cased, default port dropped); undefined if it is none. */
function originOf(value: string): string | undefined {
  if (!ORIGIN.test(value)) return undefined
  try {
    const url = new URL(value)
    return url.hostname === '' ? undefined : url.origin
  } catch {
    return undefined
  }
}

/** The policy of a `CORS_ORIGINS` value: origins separated by commas; undefined for none. */
export function readCorsPolicy(env: Readonly<Record<string, string | undefined>>): CorsPolicy | undefined {
  const items = (env.CORS_ORIGINS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  if (items.length === 0) return undefined
  if (items.includes('*')) {
    if (items.length > 1) throw new ConfigError('CORS_ORIGINS', '* (every origin) cannot be listed with other origins')
    return { origins: ['*'], ...RULES }
  }
  const origins = items.map(originOf)
  if (origins.includes(undefined)) {
    throw new ConfigError('CORS_ORIGINS', 'must be origins separated by commas, each http:// or https://, a host and an optional port, e.g. https://app.example.com (no path, query or user)')
  }
  return { origins: [...new Set(origins as string[])], ...RULES }
}

/** What `CORS_ORIGINS` holds for the policy: the functions and the Worker are given it so. */
export function corsOriginsValue(policy: CorsPolicy): string {
  return policy.origins.join(',')
}

/** SST's `ApiGatewayV2` `cors` argument for the policy: `false` (API Gateway answers no CORS) for none. */
export function apiGatewayCors(policy: CorsPolicy | undefined) {
  if (policy === undefined) return false
  return {
    allowOrigins: [...policy.origins],
    allowMethods: [...policy.methods],
    allowHeaders: [...policy.allowHeaders],
    exposeHeaders: [...policy.exposeHeaders],
    maxAge: `${policy.maxAgeSeconds} seconds` as const,
    allowCredentials: false,
  }
}
