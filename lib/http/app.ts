/**
 * An app: Hono routing for a set of routes, the lifespans they need, FastAPI's answers for
 * what no route serves (404, or 405 with `Allow` when the path exists for other methods),
 * a request id on every response and one structured log line per request.
 */
import { Hono } from 'hono'
import type { Env } from '../config.ts'
import { analyze, type Dependency } from './depends.ts'
import { methodNotAllowed, notFound, toReply } from './errors.ts'
import { fromHono, pathPattern, type AppEnv } from './incoming.ts'
import { LifespanRunner } from './lifespan.ts'
import { newMetrics } from './metrics.ts'
import { logRequest, routeServer, type IncomingRequest, type RequestMeta, type RouteServer, type ServeContext } from './pipeline.ts'
import { appendHeader, setHeader, toWebResponse, type Outcome } from './reply.ts'
import type { HttpMethod, Route } from './route.ts'
import { StaleCache } from './stale-cache.ts'

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
  /** Where last good answers are kept for routes with a `fallback`. */
  readonly cache?: StaleCache
  /**
   * What counts the instance's requests, when it outlives the app: a Workers isolate makes an
   * app per request, and only the isolate's first answer is its cold start.
   */
  readonly instance?: InstanceCounter
  /**
   * Tells the instance's init on its first answer (`Server-Timing: init;dur=…`, from the
   * process's start to the end of `startup()`): where a process is an instance, as on Lambda.
   */
  readonly tellsInit?: boolean
}

/** Requests an instance (a Lambda instance, a Workers isolate) has served. */
export interface InstanceCounter {
  served: number
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
  /** How many requests this instance has served (the first one was its cold start). */
  readonly served: number
  /**
   * Serves a request of one of this app's routes, named by its key (`GET /users/{id}`), without
   * Hono's routing; undefined when the key is not one of them.
   */
  dispatch(routeKey: string, incoming: IncomingRequest): Promise<Outcome> | undefined
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

export function createApp(options: AppOptions): App {
  const routes = options.routes
  const lifespans = new LifespanRunner()
  const dependencyOverrides = new DependencyOverrides(routes)
  const detached = new Set<Promise<void>>()
  const known = (options.knownRoutes ?? routes).map((item) => ({ method: item.method, match: pathPattern(item.path) }))
  const instance: InstanceCounter = options.instance ?? { served: 0 }
  let initTiming: string | undefined

  const serveContext: ServeContext = {
    overrides: dependencyOverrides,
    lifespans,
    deadlineMs: options.deadlineMs ?? 10_000,
    detach(work) {
      detached.add(work)
      void work.finally(() => detached.delete(work))
    },
    cache: options.cache ?? new StaleCache(),
  }

  /** A request id, one log line, and a reply for anything thrown, around every request. */
  async function observe(route: string | null, incoming: IncomingRequest, serve: (meta: RequestMeta) => Outcome | Promise<Outcome>) {
    const startedAt = performance.now()
    const cold = instance.served++ === 0
    const given = incoming.header('x-request-id')
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : (incoming.gatewayRequestId ?? crypto.randomUUID())
    const metrics = newMetrics()
    let outcome: Outcome
    try {
      // `serve` puts the request id on what it returns.
      outcome = await serve({ requestId, startedAt, metrics })
    } catch (error) {
      outcome = toReply(error, { requestId, route: route ?? incoming.path })
      setHeader(outcome, 'x-request-id', requestId)
    }
    // The instance's first request says so, with its init where known, so that a load test
    // against a deployed URL can count cold starts and time them.
    if (cold) {
      setHeader(outcome, 'x-cold-start', '1')
      if (initTiming !== undefined) appendHeader(outcome, 'server-timing', initTiming)
    }
    logRequest({
      requestId,
      awsRequestId: incoming.lambda?.awsRequestId,
      method: incoming.method,
      route,
      path: incoming.path,
      status: outcome.status,
      durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      cold,
      metrics,
    })
    return outcome
  }

  function noRoute(incoming: IncomingRequest, { requestId }: RequestMeta): Outcome {
    const allow = known.filter((item) => item.match.test(incoming.path)).map((item) => item.method)
    const reply = allow.length === 0 ? notFound() : methodNotAllowed([...new Set(allow)].sort())
    reply.headers['x-request-id'] = requestId
    return reply
  }

  const servers = new Map(routes.map((item) => [item.key, routeServer(item, serveContext)]))
  const hono = new Hono<AppEnv>()
  for (const item of routes) {
    const server = servers.get(item.key) as RouteServer
    hono.on(item.method, item.honoPath, async function served(c) {
      const incoming = fromHono(c)
      return toWebResponse(await observe(item.key, incoming, (meta) => server(incoming, meta)))
    })
  }
  hono.notFound(async function unrouted(c) {
    const incoming = fromHono(c)
    return toWebResponse(await observe(null, incoming, (meta) => noRoute(incoming, meta)))
  })
  hono.onError(function lastResort(error, c) {
    return toWebResponse(toReply(error, { requestId: 'unknown', route: c.req.path }))
  })

  const needed = new Set(routes.flatMap((item) => [...item.lifespans]))
  return {
    hono,
    routes,
    dependencyOverrides,
    async startup() {
      await lifespans.startup(needed, { env: options.env ?? globalThis.process?.env ?? {} })
      if (options.tellsInit) initTiming = `init;dur=${performance.now().toFixed(1)}`
    },
    async shutdown() {
      await Promise.allSettled(detached)
      await lifespans.shutdown()
      await serveContext.cache.close()
    },
    get served() {
      return instance.served
    },
    dispatch(routeKey, incoming) {
      const server = servers.get(routeKey)
      return server === undefined ? undefined : observe(routeKey, incoming, (meta) => server(incoming, meta))
    },
  }
}
