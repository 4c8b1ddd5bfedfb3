/**
 * The manifest joined to the code of each route: the dev server mounts them all in one app,
 * and the docs describe them all. A manifest entry without route code here is a type error.
 */
import { docsRoutes } from './docs/routes.ts'
import { health } from './health/routes.ts'
import type { Route } from './http/route.ts'
import { API_INFO, MANIFEST, type FunctionEntry, type ManifestEntry } from './manifest.ts'
import { createUser, deleteUserRoute, getAvatar, getMe, getUser, listUsersRoute, login, patchUser, putAvatarRoute } from './users/routes.ts'

export const docs = docsRoutes(() => ROUTES.map((entry) => entry.route).filter((item) => item !== docs.openapi && item !== docs.docs), API_INFO)

const ROUTE_CODE: Record<FunctionEntry, Route> = {
  'functions/health/get.ts': health,
  'functions/auth/token.ts': login,
  'functions/users/me.ts': getMe,
  'functions/users/list.ts': listUsersRoute,
  'functions/users/get.ts': getUser,
  'functions/users/create.ts': createUser,
  'functions/users/patch.ts': patchUser,
  'functions/users/delete.ts': deleteUserRoute,
  'functions/users/avatar-put.ts': putAvatarRoute,
  'functions/users/avatar-get.ts': getAvatar,
  'functions/docs/openapi.ts': docs.openapi,
  'functions/docs/page.ts': docs.docs,
}

export interface RouteEntry extends ManifestEntry {
  readonly route: Route
}

export const ROUTES: readonly RouteEntry[] = MANIFEST.map((entry) => ({ ...entry, route: ROUTE_CODE[entry.entry] }))
