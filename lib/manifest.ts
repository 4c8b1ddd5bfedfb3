/**
 * Every route of the service and the function that serves it on Lambda: plain data, so that
 * `sst.config.ts` (via `infra/`) can read it without loading any route code.
 */
export interface ManifestEntry {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** API Gateway / OpenAPI form: `/users/{id}`. */
  readonly path: string
  /** The function's entry file, relative to the repository root; it exports `handler`. */
  readonly entry: string
  /** The SST secrets the function reads (`lib/config.ts`), linked to it and to no other. */
  readonly secrets: readonly Secret[]
  /** Memory in MB when not the default: CPU comes with it, and password hashing needs CPU. */
  readonly memoryMb?: number
}

/** SST secrets, by the name `Resource` gives them (see LINKED_SECRETS in lib/config.ts). */
export type Secret = 'DatabaseUrl' | 'DatabaseReplicaUrl' | 'JwtSecret' | 'RedisUrl'

const DATABASE = ['DatabaseUrl', 'DatabaseReplicaUrl'] as const
const SIGNED_IN = [...DATABASE, 'JwtSecret'] as const
/** Reads that may be answered stale: the shared tier of the stale cache is optional (RedisUrl). */
const CACHED_READ = [...SIGNED_IN, 'RedisUrl'] as const
/** Routes that hash a password (scrypt, 32 MiB and ~80 ms of a full core per hash). */
const HASHING = 1024

export const MANIFEST = [
  { method: 'GET', path: '/health', entry: 'functions/health/get.ts', secrets: DATABASE },
  { method: 'POST', path: '/auth/token', entry: 'functions/auth/token.ts', secrets: SIGNED_IN, memoryMb: HASHING },
  // Before /users/{id}: a router that tries routes in order must meet the fixed path first.
  { method: 'GET', path: '/users/me', entry: 'functions/users/me.ts', secrets: CACHED_READ },
  { method: 'GET', path: '/users', entry: 'functions/users/list.ts', secrets: CACHED_READ },
  { method: 'GET', path: '/users/{id}', entry: 'functions/users/get.ts', secrets: CACHED_READ },
  { method: 'POST', path: '/users', entry: 'functions/users/create.ts', secrets: SIGNED_IN, memoryMb: HASHING },
  { method: 'PATCH', path: '/users/{id}', entry: 'functions/users/patch.ts', secrets: SIGNED_IN, memoryMb: HASHING },
  { method: 'DELETE', path: '/users/{id}', entry: 'functions/users/delete.ts', secrets: SIGNED_IN },
  { method: 'PUT', path: '/users/{id}/avatar', entry: 'functions/users/avatar-put.ts', secrets: SIGNED_IN },
  { method: 'GET', path: '/users/{id}/avatar', entry: 'functions/users/avatar-get.ts', secrets: SIGNED_IN },
  { method: 'GET', path: '/openapi.json', entry: 'functions/docs/openapi.ts', secrets: [] },
  { method: 'GET', path: '/docs', entry: 'functions/docs/page.ts', secrets: [] },
] as const satisfies readonly ManifestEntry[]

export const API_INFO = {
  title: 'Users API',
  version: '0.1.0',
  description: 'The example service of hono-lambda-neon-toolkit: FastAPI-compatible on the wire.',
} as const

export type FunctionEntry = (typeof MANIFEST)[number]['entry']

/** The function behind API Gateway's `$default` route: FastAPI's 404 and 405 for the rest. */
export const DEFAULT_ENTRY = 'functions/default/any.ts'

/**
 * How each function runs, for the deployment (infra/api.ts) and the local emulator alike: 512 MB
 * unless the entry says otherwise, and a 10 s deadline that the retries and fallbacks work
 * inside; the `$default` function (404/405) needs little of either.
 */
export const FUNCTION_TIMEOUT_SECONDS = 10
export const DEFAULT_FUNCTION = { memoryMb: 128, timeoutSeconds: 3 } as const

export function memoryOf(entry: ManifestEntry): number {
  return entry.memoryMb ?? 512
}
