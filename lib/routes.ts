/**
 * Every route of the service and the function that serves it on Lambda. The dev server
 * mounts them all in one app; the build bundles one function per entry.
 */
import type { Hono } from 'hono'
import { health } from './health/routes.ts'
import type { AppEnv } from './http/app.ts'
import { getUser } from './users/routes.ts'

export interface RouteEntry {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** OpenAPI / API Gateway form: `/users/{id}`. */
  readonly path: string
  /** The function's entry file, relative to the repository root. */
  readonly entry: string
  readonly routes: Hono<AppEnv>
}

export const ROUTES: readonly RouteEntry[] = [
  { method: 'GET', path: '/health', entry: 'functions/health/get.ts', routes: health },
  { method: 'GET', path: '/users/{id}', entry: 'functions/users/get.ts', routes: getUser },
]
