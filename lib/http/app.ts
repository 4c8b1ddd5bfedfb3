/**
 * An app: Hono routing for a set of routes, the lifespans they need, FastAPI's answers for
 * what no route serves (404, or 405 with `Allow` when the path exists for other methods),
 * a request id on every response and one structured log line per request.
 */
import { Hono, type Context } from 'hono'
import type { Env } from '../config.ts'
import { analyze, type Dependency } from './depends.ts'
import { methodNotAllowed, notFound, toResponse } from './errors.ts'
import { LifespanRunner } from './lifespan.ts'
import { logRequest, routeHandler, type AppEnv, type RequestMeta, type ServeContext } from './pipeline.ts'
import type { HttpMethod, Route } from './route.ts'

export type { AppEnv }

export interface KnownRoute {
  readonly method: HttpMethod
  readonly path: string
}

export interface AppOptions {
  readonly routes: readonly Route[]
  /** Handed to lifespans (the database URL); process.env unless given. */
  readonly env?: Env
  /** Routes served elsewhere that decide 404 or 405 (the catch-all function knows them all). */
  readonly knownRoutes?: readonly KnownRoute[]
  /** A request's time budget where the runtime gives none; Lambda's own deadline wins. */
  readonly deadlineMs?: number
}

/** FastAPI's `app.dependency_overrides`; setting one re-checks the graph for cycles. */
export class DependencyOverrides extends Map<Dependency<unknown>, Dependency<unknown>> {
  readonly #routes: readonly Route[]

  constructor(routes: readonly Route[]) {
    super()
    this.#routes = routes
  }

  override set<T>(dependency: Dependency<T>, override: Dependency<T>): this {
    const next = new Map(this).set(dependency, override)
    for (const item of this.#routes) analyze(item.dependencies, next)
    return super.set(dependency, override)
  }
}

export interface App {
  readonly hono: Hono<AppEnv>
  readonly routes: readonly Route[]
  readonly dependencyOverrides: DependencyOverrides
  /** Runs the lifespans' startup; call once, before serving (Lambda: during init). */
  startup(): Promise<void>
  /** Waits for detached background work, then runs the lifespans' shutdown. */
  shutdown(): Promise<void>
  /** Whether this instance has served a request yet (the first one is its cold start). */
  readonly served: number
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

function pathMatcher(path: string): RegExp {
  const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[A-Za-z_][A-Za-z0-9_]*\\?\}/g, '[^/]+')
  return new RegExp(`^${pattern}/?$`)
}

export function createApp(options: AppOptions): App {
  const routes = options.routes
  const lifespans = new LifespanRunner()
  const dependencyOverrides = new DependencyOverrides(routes)
  const detached = new Set<Promise<void>>()
  const known = (options.knownRoutes ?? routes).map((item) => ({ method: item.method, match: pathMatcher(item.path) }))
  let served = 0

  const serveContext: ServeContext = {
    overrides: dependencyOverrides,
    lifespans,
    deadlineMs: options.deadlineMs ?? 10_000,
    detach(work) {
      detached.add(work)
      void work.finally(() => detached.delete(work))
    },
  }

  /**
   * Wraps every handler (rather than a middleware, which would cost Hono's fast path for a
   * single matched handler): a request id, the response header, one log line.
   */
  const observe = (route: string | null, serve: (c: Context<AppEnv>, meta: RequestMeta) => Response | Promise<Response>) =>
    async function observed(c: Context<AppEnv>): Promise<Response> {
      const startedAt = performance.now()
      const cold = served++ === 0
      const incoming = c.req.header('x-request-id')
      const requestId =
        incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : (c.env?.requestContext?.requestId ?? crypto.randomUUID())
      let response: Response
      try {
        // `serve` puts the request id on the response itself.
        response = await serve(c, { requestId, startedAt })
      } catch (error) {
        response = toResponse(error, { requestId, route: route ?? c.req.path })
        response.headers.set('x-request-id', requestId)
      }
      logRequest({
        requestId,
        awsRequestId: c.env?.lambdaContext?.awsRequestId,
        method: c.req.method,
        route,
        path: c.req.path,
        status: response.status,
        durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
        cold,
      })
      return response
    }

  const hono = new Hono<AppEnv>()
  for (const item of routes) hono.on(item.method, item.honoPath, observe(item.key, routeHandler(item, serveContext)))
  hono.notFound(
    observe(null, function noRoute(c, { requestId }) {
      const path = c.req.path
      const allow = known.filter((item) => item.match.test(path)).map((item) => item.method)
      const response = allow.length === 0 ? notFound() : methodNotAllowed([...new Set(allow)].sort())
      response.headers.set('x-request-id', requestId)
      return response
    }),
  )

  const needed = new Set(routes.flatMap((item) => [...item.lifespans]))
  return {
    hono,
    routes,
    dependencyOverrides,
    startup: () => lifespans.startup(needed, { env: options.env ?? globalThis.process?.env ?? {} }),
    async shutdown() {
      await Promise.allSettled(detached)
      await lifespans.shutdown()
    },
    get served() {
      return served
    },
  }
}
