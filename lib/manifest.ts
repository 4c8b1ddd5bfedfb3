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
}

export const MANIFEST = [
  { method: 'GET', path: '/health', entry: 'functions/health/get.ts' },
  { method: 'POST', path: '/auth/token', entry: 'functions/auth/token.ts' },
  // Before /users/{id}: a router that tries routes in order must meet the fixed path first.
  { method: 'GET', path: '/users/me', entry: 'functions/users/me.ts' },
  { method: 'GET', path: '/users', entry: 'functions/users/list.ts' },
  { method: 'GET', path: '/users/{id}', entry: 'functions/users/get.ts' },
  { method: 'POST', path: '/users', entry: 'functions/users/create.ts' },
  { method: 'PATCH', path: '/users/{id}', entry: 'functions/users/patch.ts' },
  { method: 'DELETE', path: '/users/{id}', entry: 'functions/users/delete.ts' },
  { method: 'PUT', path: '/users/{id}/avatar', entry: 'functions/users/avatar-put.ts' },
  { method: 'GET', path: '/users/{id}/avatar', entry: 'functions/users/avatar-get.ts' },
  { method: 'GET', path: '/openapi.json', entry: 'functions/docs/openapi.ts' },
  { method: 'GET', path: '/docs', entry: 'functions/docs/page.ts' },
] as const satisfies readonly ManifestEntry[]

export const API_INFO = {
  title: 'Users API',
  version: '0.1.0',
  description: 'The example service of hono-lambda-neon-toolkit: FastAPI-compatible on the wire.',
} as const

export type FunctionEntry = (typeof MANIFEST)[number]['entry']

/** The function behind API Gateway's `$default` route: FastAPI's 404 and 405 for the rest. */
export const DEFAULT_ENTRY = 'functions/default/any.ts'
