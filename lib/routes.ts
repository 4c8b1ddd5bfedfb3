/**
 * The manifest joined to the code of each route: the dev server mounts them all in one app.
 * A manifest entry without route code here is a type error.
 */
import type { Hono } from 'hono'
import { health } from './health/routes.ts'
import type { AppEnv } from './http/app.ts'
import { MANIFEST, type FunctionEntry, type ManifestEntry } from './manifest.ts'
import { getUser } from './users/routes.ts'

const ROUTE_CODE: Record<FunctionEntry, Hono<AppEnv>> = {
  'functions/health/get.ts': health,
  'functions/users/get.ts': getUser,
}

export interface RouteEntry extends ManifestEntry {
  readonly routes: Hono<AppEnv>
}

export const ROUTES: readonly RouteEntry[] = MANIFEST.map((entry) => ({ ...entry, routes: ROUTE_CODE[entry.entry] }))
