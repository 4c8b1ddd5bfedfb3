/**
 * The manifest joined to the code of each route: the dev server mounts them all in one app,
 * and the docs describe them all. A manifest entry without route code here is a type error.
 */
import { health } from './health/routes.ts'
import type { Route } from './http/route.ts'
import { MANIFEST, type FunctionEntry, type ManifestEntry } from './manifest.ts'
import { getUser } from './users/routes.ts'

const ROUTE_CODE: Record<FunctionEntry, Route> = {
  'functions/health/get.ts': health,
  'functions/users/get.ts': getUser,
}

export interface RouteEntry extends ManifestEntry {
  readonly route: Route
}

export const ROUTES: readonly RouteEntry[] = MANIFEST.map((entry) => ({ ...entry, route: ROUTE_CODE[entry.entry] }))
