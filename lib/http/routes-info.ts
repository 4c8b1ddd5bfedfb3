/**
 * The routes of a Hono app as the toolkit reads them: method and path (in Hono's form and in
 * OpenAPI's), and what their middleware declare (route.ts): documentation, dependencies and
 * the lifespans below them, validation, the response model, a stale fallback. The app starts
 * lifespans from it, and the OpenAPI document is written from it.
 */
import type { RouterRoute } from 'hono/types'
import { COMPOSED_HANDLER } from 'hono/utils/constants'
import type * as v from 'valibot'
import type { BodySpec } from './body.ts'
import { analyze, type Dependency, type DependencyMap, type FreshUse } from './depends.ts'
import type { Lifespan } from './lifespan.ts'
import { declarationOf, type Declaration, type ResponseDoc, type Validation } from './declarations.ts'

export interface RouteInfo {
  readonly method: string
  /** OpenAPI form: `/users/{id}`. */
  readonly path: string
  /** Hono's form: `/users/:id`. */
  readonly honoPath: string
  /** `GET /users/{id}`, as API Gateway and the logs name it. */
  readonly key: string
  readonly summary: string | undefined
  readonly description: string | undefined
  readonly tags: readonly string[]
  /** Left out of the OpenAPI document. */
  readonly hidden: boolean
  /** Status of a successful answer. */
  readonly status: number
  readonly validation: Validation | undefined
  readonly body: BodySpec | undefined
  /** Every dependency the route's middleware need, the fallback's authority included. */
  readonly dependencies: DependencyMap
  readonly lifespans: ReadonlySet<Lifespan<unknown>>
  readonly response: v.GenericSchema | undefined
  readonly responses: Readonly<Record<number, ResponseDoc>>
  readonly fallback: { readonly authority: Dependency<string> | undefined; readonly afterMs: number | undefined } | undefined
}

/** `/users/:id` (also `:id{[0-9]+}`) as OpenAPI writes it: `/users/{id}`. */
export function toOpenApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?\??/g, '{$1}')
}

/** Matches a path of the route and captures its parameters: `/users/{id}` as `^/users/(?<id>[^/]+)$`. */
export function pathPattern(path: string): RegExp {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '(?<$1>[^/]+)')
  return new RegExp(`^${source}$`)
}

/** A handler as registered, or the one a sub-app with its own error handler wrapped. */
function unwrap(handler: unknown): unknown {
  return (handler as Record<string, unknown>)[COMPOSED_HANDLER] ?? handler
}

export function describeRoutes(app: { readonly routes: readonly RouterRoute[] }): RouteInfo[] {
  const grouped = new Map<string, { method: string; honoPath: string; declarations: Declaration[] }>()
  for (const item of app.routes) {
    if (item.method === 'ALL') continue
    const id = `${item.method} ${item.path}`
    let group = grouped.get(id)
    if (group === undefined) grouped.set(id, (group = { method: item.method, honoPath: item.path, declarations: [] }))
    const declaration = declarationOf(unwrap(item.handler))
    if (declaration) group.declarations.push(declaration)
  }
  return [...grouped.values()].map(({ method, honoPath, declarations }) => {
    const path = toOpenApiPath(honoPath)
    const find = <K extends Declaration['kind']>(kind: K) => declarations.filter((item): item is Extract<Declaration, { kind: K }> => item.kind === kind)
    const doc = find('describe').reduce((all, item) => ({ ...all, ...item.doc }), {} as Extract<Declaration, { kind: 'describe' }>['doc'])
    const validation = find('validate')[0]
    const response = find('responds')[0]
    const fallback = find('fallback')[0]
    if (fallback && method !== 'GET') throw new Error(`${method} ${path}: only a GET may be answered from a cache`)
    const dependencies: Record<string, Dependency<unknown> | FreshUse<unknown>> = {}
    for (const [index, item] of find('needs').entries()) for (const [key, use] of Object.entries(item.dependencies)) dependencies[`${index}:${key}`] = use
    if (fallback?.authority) dependencies['fallback:authority'] = fallback.authority
    return {
      method,
      path,
      honoPath,
      key: `${method} ${path}`,
      summary: doc.summary,
      description: doc.description,
      tags: doc.tags ?? [],
      hidden: doc.hidden ?? false,
      status: response?.status ?? doc.status ?? 200,
      validation: validation?.validation,
      body: validation?.body,
      dependencies,
      lifespans: analyze(dependencies).lifespans,
      response: response?.schema,
      responses: doc.responses ?? {},
      fallback: fallback && { authority: fallback.authority, afterMs: fallback.afterMs },
    }
  })
}
