/**
 * What the deployment knows of the service's functions without loading any route code, so
 * that `sst.config.ts` (via `infra/`) can read it: plain data.
 */
import functions from './generated/functions.json' with { type: 'json' }

/** What SST deploys for a route (lib/functions.ts derives it from the route file). */
export interface FunctionEntry {
  readonly method: string
  /** API Gateway / OpenAPI form: `/users/{id}`. */
  readonly path: string
  /** The function's entry file, relative to the repository root; it exports `handler`. */
  readonly entry: string
  /** The SST secrets the function reads (lib/config.ts), linked to it and to no other. */
  readonly secrets: readonly string[]
  /** Memory in MB when not the default: CPU comes with it, and password hashing needs CPU. */
  readonly memoryMb?: number
  /** Files copied into the function's package beside its bundle (SST's `copyFiles`), from the repository root. */
  readonly files?: readonly { readonly from: string; readonly to: string }[]
}

/** SST secrets, by the name `Resource` gives them (see LINKED_SECRETS in lib/config.ts). */
export type Secret = 'DatabaseUrl' | 'DatabaseReplicaUrl' | 'JwtSecret' | 'RedisUrl'

/**
 * Every function of functions/ as `npm run routes` derived it from the route files (lib/functions.ts):
 * method, path, entry, secrets, memory. `npm test` and `npm run build` fail when it is stale.
 */
export const MANIFEST: readonly FunctionEntry[] = functions

export const API_INFO = {
  title: 'Users API',
  version: '0.1.0',
  description: 'The example service of hono-lambda-neon-toolkit: FastAPI-compatible on the wire.',
} as const

/** The function behind API Gateway's `$default` route: FastAPI's 404 and 405 for the rest. */
export const DEFAULT_ENTRY = 'functions/_default.ts'

/**
 * How each function runs, for the deployment (infra/api.ts) and the local emulator alike: 512 MB
 * unless the entry says otherwise, and a 10 s deadline that the retries and fallbacks work
 * inside; the `$default` function (404/405) needs little of either.
 */
export const FUNCTION_TIMEOUT_SECONDS = 10
export const DEFAULT_FUNCTION = { memoryMb: 128, timeoutSeconds: 3 } as const

export function memoryOf(entry: FunctionEntry): number {
  return entry.memoryMb ?? 512
}
