/**
 * The service's functions, derived from `functions/`: each file there is one route and one
 * Lambda function, named by its place (`functions/users/[id]/get.ts` is `GET /users/{id}`;
 * files whose name starts with `_` are not routes). A route file exports `route`, the Hono
 * app of its one route, `handler`, and optionally `config` (`{ memoryMb, files }`: its
 * memory, and files its package carries beside the bundle).
 *
 * `loadFunctions()` imports every route file (off Lambda that starts nothing), checks that
 * each serves the route its place names, and reads what the deployment needs: the secrets of
 * the route's lifespans (and RedisUrl for a route that may answer stale) and its memory.
 */
import { readdirSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Hono } from 'hono'
import type { AppEnv } from './http/env.ts'
import { describeRoutes, type RouteInfo } from './http/routes-info.ts'
import { usesSharedCache } from './http/stale-cache.ts'
import type { FunctionEntry } from './manifest.ts'

export const FUNCTIONS_DIR = 'functions'

export interface LoadedFunction extends FunctionEntry {
  readonly route: Hono<AppEnv>
  readonly info: RouteInfo
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** Route files under `functions/`, fixed segments before parameters (as API Gateway prefers them). */
export function routeFiles(root = process.cwd()): { entry: string; method: string; path: string }[] {
  const found: { entry: string; method: string; path: string; order: string }[] = []
  const walk = (folder: string) => {
    for (const item of readdirSync(join(root, folder), { withFileTypes: true })) {
      if (item.name.startsWith('_')) continue
      const at = join(folder, item.name)
      if (item.isDirectory()) walk(at)
      else if (item.name.endsWith('.ts')) found.push(routeOfFile(relative('.', at).split(sep).join('/')))
    }
  }
  walk(FUNCTIONS_DIR)
  return found.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)).map(({ order: _, ...rest }) => rest)
}

/** `functions/users/[id]/get.ts` → `GET /users/{id}`. */
export function routeOfFile(entry: string): { entry: string; method: string; path: string; order: string } {
  const parts = entry.replace(/\.ts$/, '').split('/').slice(1)
  const file = parts.pop() as string
  if (!(METHODS as readonly string[]).includes(file)) {
    throw new Error(`${entry}: a route file is named for its method (${METHODS.join(', ')}.ts); prefix other files with _`)
  }
  for (const part of parts) {
    if (!/^(\[[A-Za-z_][A-Za-z0-9_]*\]|[A-Za-z0-9._~-]+)$/.test(part)) throw new Error(`${entry}: "${part}" is neither a path segment nor a [parameter]`)
  }
  const path = `/${parts.map((part) => part.replace(/^\[(.*)\]$/, '{$1}')).join('/')}`
  // A parameter sorts after any fixed segment at its place: /users/me before /users/{id}.
  const order = `${parts.map((part) => (part.startsWith('[') ? `~${part}` : part)).join('/')}/${file}`
  return { entry, method: file.toUpperCase(), path, order }
}

/** The secrets a route's code reads: its lifespans', and the shared cache's where it uses it. */
export function secretsOf(info: RouteInfo): string[] {
  const secrets = new Set([...info.lifespans].flatMap((item) => item.secrets))
  if (usesSharedCache(info)) secrets.add('RedisUrl')
  return [...secrets].sort()
}

export async function loadFunctions(root = process.cwd()): Promise<LoadedFunction[]> {
  const loaded: LoadedFunction[] = []
  for (const file of routeFiles(root)) {
    const module = (await import(pathToFileURL(join(root, file.entry)).href)) as { route?: Hono<AppEnv>; config?: Pick<FunctionEntry, 'memoryMb' | 'files'> }
    if (module.route === undefined) throw new Error(`${file.entry}: exports no \`route\` (the Hono app of its route)`)
    const routes = describeRoutes(module.route)
    const info = routes[0]
    if (routes.length !== 1 || info === undefined || info.method !== file.method || info.path !== file.path) {
      throw new Error(`${file.entry}: serves ${routes.map((item) => item.key).join(', ') || 'no route'}; its place says ${file.method} ${file.path}`)
    }
    const { memoryMb, files } = module.config ?? {}
    loaded.push({ ...file, secrets: secretsOf(info), ...(memoryMb === undefined ? {} : { memoryMb }), ...(files === undefined ? {} : { files }), route: module.route, info })
  }
  return loaded
}
