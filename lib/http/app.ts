/**
 * An app: Hono apps of routes (each an ordinary `new Hono<AppEnv>()`, with any Hono
 * middleware) mounted under the toolkit's first middleware, which gives every request its
 * scope (`c.var.scope`: request id, deadline, lifespans' state, dependencies, background
 * tasks), puts the request id on every answer, runs what is left after the response, and
 * writes one structured log line. Next, when `CORS_ORIGINS` names origins, the CORS policy
 * (cors-policy.ts), before any route. What no route serves is FastAPI's 404, or 405 with `Allow`
 * when the path exists for other methods; anything thrown is FastAPI's error shape. Hono
 * middleware of the routes' apps runs around all of it, error answers included, wherever the
 * app runs: the Lambda adapter (lambda.ts), the dev server and a Worker all call `fetch`.
 */
import type { Context, ExecutionContext, Next } from 'hono'
import { Hono } from 'hono/tiny'
import { matchedRoutes } from 'hono/route'
import type { Env } from '../config.ts'
import { invocationText, lineStart, logs, setInvocation, writeLogLine, type Invocation } from '../log.ts'
import { configureTelemetry } from '../telemetry.ts'
import { traceOf, tracing, type TraceHeader, type Tracer } from '../trace.ts'
import { BackgroundTasks } from './background.ts'
import { corsMiddleware } from './cors.ts'
import { readCorsPolicy } from './cors-policy.ts'
import { analyze, DependencySolver, type Dependency, type DependencyMap, type RequestScope, type Overrides } from './depends.ts'
import type { AppEnv, LambdaBindings } from './env.ts'
import { methodNotAllowed, notFound, toReply } from './errors.ts'
import { LifespanRunner, type Lifespan } from './lifespan.ts'
import { coldStartDocument, emfFields, metricsDocument, newMetrics, type RequestMetrics } from './metrics.ts'
import { isEventRequest } from './lambda-event.ts'
import { jsonReply, toWebResponse, type Reply } from './reply.ts'
import { describeRoutes, pathPattern, type RouteInfo } from './routes-info.ts'
import { readStaleAfterMs, StaleCache } from './stale-cache.ts'

export type { AppEnv }

export interface KnownRoute {
  readonly method: string
  /** OpenAPI form: `/users/{id}`. */
  readonly path: string
}

export interface AppOptions {
  /** Hono apps of routes; mounted at `/` in this order. */
  readonly routes: Hono<AppEnv> | readonly Hono<AppEnv>[]
  /** Handed to lifespans (the database URL) and read for the CORS policy; process.env unless given. */
  readonly env?: Env
  /** Routes served elsewhere that decide 404 or 405 (the catch-all function knows them all). */
  readonly knownRoutes?: readonly KnownRoute[]
  /** A request's time budget where the runtime gives none; Lambda's own deadline wins. */
  readonly deadlineMs?: number
  /** Where last good answers are kept for routes with a `staleFallback`. */
  readonly cache?: StaleCache
  /**
   * What counts the instance's requests, when it outlives the app: only an instance's first
   * answer is its cold start.
   */
  readonly instance?: InstanceCounter
  /**
   * Tells the instance's init on its first answer (`Server-Timing: init;dur=…`, from the
   * process's start to the end of `startup()`): where a process is an instance, as on Lambda.
   */
  readonly tellsInit?: boolean
  /**
   * Starts the lifespans for each request, with the request's bindings as their environment,
   * and stops them after it (Workers: I/O objects may not outlive the request that made them).
   */
  readonly lifespansPerRequest?: boolean
}

/** Requests an instance (a Lambda instance, a Workers isolate) has served. */
export interface InstanceCounter {
  served: number
}

/** FastAPI's `app.dependency_overrides`; setting one re-checks the graph for cycles. */
export class DependencyOverrides extends Map<Dependency<unknown>, Dependency<unknown>> {
  readonly #graphs: readonly DependencyMap[]

  constructor(graphs: readonly DependencyMap[]) {
    super()
    this.#graphs = graphs
  }

  override set<T>(dependency: Dependency<T>, override: Dependency<T>): this {
    const next = new Map(this).set(dependency, override)
    for (const graph of this.#graphs) analyze(graph, next)
    return super.set(dependency, override)
  }
}

export interface App {
  /** The whole app, for `fetch` (the dev server, a Worker) and for `app.request()` in tests. */
  readonly hono: Hono<AppEnv>
  /** Every route the app serves, with what its middleware declares. */
  readonly routes: readonly RouteInfo[]
  readonly dependencyOverrides: DependencyOverrides
  /** Runs the lifespans' startup; call once, before serving (Lambda: during init). */
  startup(): Promise<void>
  /** Waits for detached background work, then runs the lifespans' shutdown. */
  shutdown(): Promise<void>
  /** How many requests this instance has served (the first one was its cold start). */
  readonly served: number
  /** The contract's answer for a request that could not be read at all (a broken event). */
  unreadable(method: string, path: string, gatewayRequestId: string | undefined): Reply
}

/** What the app gives each request's scope. */
interface AppState {
  readonly overrides: Overrides
  readonly deadlineMs: number
  /** The stale budget of the request's route, when it may answer stale (`staleFallback`). */
  staleAfterOf(c: Context): number | undefined
  readonly cache: StaleCache
  /** Keeps background work alive where the runtime has no `waitUntil` (Node). */
  detach(work: Promise<void>): void
  /** When the instance last degraded an answer (stale, 503); see `DEGRADED_LATELY_MS`. */
  degradedAt: number
}

/** How long after a degraded answer (stale, 503) the instance says it is degraded. */
const DEGRADED_LATELY_MS = 5_000

function executionContextOf(c: Context): ExecutionContext | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined // Node's server has none.
  }
}

/**
 * The request's scope: what dependencies and handlers see of the request, made as it is
 * first used. The route middleware (route.ts) reach the parts that are not public.
 */
export class Scope implements RequestScope {
  readonly context: Context
  readonly requestId: string
  readonly metrics: RequestMetrics = newMetrics()
  /** The request's X-Ray trace, where one came with it (trace.ts). */
  readonly trace: TraceHeader | undefined
  /** Where its database statements are sent as spans; undefined unless Lambda traces it. */
  readonly tracer: Tracer | undefined
  readonly #app: AppState
  readonly #lifespans: LifespanRunner
  readonly #deadline: number
  readonly #startedAt: number
  #background: BackgroundTasks | undefined
  #solver: DependencySolver | undefined
  #abandon: AbortController | undefined
  /** The route's stale budget; null when it may not answer stale; undefined until looked up. */
  #staleAfterMs: number | null | undefined
  #checks: Promise<unknown>[] | undefined

  constructor(c: Context, requestId: string, startedAt: number, app: AppState, lifespans: LifespanRunner, trace?: TraceHeader, tracer?: Tracer) {
    this.context = c
    this.requestId = requestId
    this.trace = trace
    this.tracer = tracer
    this.#app = app
    this.#lifespans = lifespans
    this.#startedAt = startedAt
    this.#deadline = startedAt + app.deadlineMs
  }

  staleBudgetLeftMs(): number | undefined {
    const afterMs = (this.#staleAfterMs ??= this.#app.staleAfterOf(this.context) ?? null)
    return afterMs === null ? undefined : this.#startedAt + afterMs - performance.now()
  }

  get databaseSignal(): AbortSignal {
    return (this.#abandon ??= new AbortController()).signal
  }

  abandonDatabase(): void {
    ;(this.#abandon ??= new AbortController()).abort()
  }

  confirmLater(check: Promise<unknown>): void {
    // Handled here at once: a check whose answer no one waits for (a stale answer went out) is not an unhandled rejection.
    ;(this.#checks ??= []).push(check.then(NO_ERROR, (error: unknown) => error ?? new Error('a check failed')))
  }

  async confirmations(): Promise<unknown> {
    for (const check of this.#checks ?? []) {
      const error = await check
      if (error !== undefined) return error
    }
    return undefined
  }

  get degradedLately(): boolean {
    return performance.now() - this.#app.degradedAt < DEGRADED_LATELY_MS
  }

  get request(): Request {
    return this.context.req.raw
  }

  get background(): BackgroundTasks {
    return (this.#background ??= new BackgroundTasks())
  }

  state<S>(lifespan: Lifespan<S>): S {
    return this.#lifespans.state(lifespan)
  }

  header(name: string): string | undefined {
    return this.context.req.header(name)
  }

  remainingMs(): number {
    const lambda = (this.context.env as LambdaBindings | undefined)?.lambdaContext
    return lambda ? lambda.getRemainingTimeInMillis() : Math.max(0, this.#deadline - performance.now())
  }

  keepLastGood(key: string, value: string, ttlMs: number): Promise<void> {
    const shared = this.#app.cache.keep(key, value, ttlMs)
    if (shared === undefined) return DONE
    this.waitUntil(shared)
    return shared
  }

  findLastGood(key: string, options?: { readonly newest?: boolean }): Promise<{ readonly value: string; readonly ageSeconds: number } | undefined> {
    return this.#app.cache.find(key, options)
  }

  get cache(): StaleCache {
    return this.#app.cache
  }

  /** Resolves dependencies with the request's cache (each runs once per request). */
  resolve(map: DependencyMap): Promise<Record<string, unknown>> {
    this.#solver ??= new DependencySolver(this, this.#app.overrides)
    return this.#solver.resolveAll(map)
  }

  /** Hands work to the runtime to finish after the response. */
  waitUntil(work: Promise<void> | undefined): void {
    if (work === undefined) return
    const runtime = executionContextOf(this.context)
    if (runtime) runtime.waitUntil(work)
    else this.#app.detach(work)
  }

  /** After the response: dependencies torn down (seeing the handler's error), tasks started. */
  async finish(error: unknown): Promise<void> {
    if (this.#solver?.hasTeardowns) await this.#solver.teardown(error)
    const background = this.#background
    if (background !== undefined && background.size > 0) {
      // Starts once the response exists; Lambda's adapter waits for it before returning.
      this.waitUntil(Promise.resolve().then(() => background.run(this.requestId)))
    }
  }
}

const DONE = Promise.resolve()
const NO_ERROR = () => undefined

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

export interface RequestLine {
  readonly requestId: string
  /** Its invocation's fields: the one lines of the instance carry on Lambda, where it is the same object. */
  readonly invocation: Invocation
  readonly method: string
  readonly route: string | null
  readonly path: string
  readonly status: number
  readonly durationMs: number
  readonly metrics: RequestMetrics
}

/**
 * The one line per request, written field by field: it is on every request's path, and a
 * generic `log()` call costs several times more. It is also an EMF document (metrics.ts);
 * where info lines are not written, its metrics still are, as a document of their own. An
 * instance's first request also writes the ColdStart metric.
 */
export function logRequest(line: RequestLine): void {
  if (logs('info')) {
    writeLogLine(
      'info',
      `${lineStart('info', 'request', invocationText(line.invocation))},"request_id":${JSON.stringify(line.requestId)},"method":${JSON.stringify(line.method)},"route":${
        line.route === null ? 'null' : JSON.stringify(line.route)
      },"path":${JSON.stringify(line.path)},"status":${line.status},"duration_ms":${line.durationMs}${emfFields(line.route, line.metrics, line.status)}}`,
    )
  } else {
    const metrics = metricsDocument(line.route, line.metrics, line.status, line.durationMs)
    if (metrics !== undefined) writeLogLine('info', metrics)
  }
  if (line.invocation.coldStart) writeLogLine('info', coldStartDocument())
}

/**
 * What every answer says for its safety: its type is not to be sniffed (an avatar uploaded as
 * image/png is never run as HTML), and, unless the route chose otherwise, that no browser or
 * shared cache may store it (tokens and user data; the stale answers this app serves are its
 * own, kept per caller's rights). Given how to read and set the answer's headers: a
 * `Response`'s, or the Lambda adapter's plain ones (lower-case names).
 */
export function addSafetyHeaders(has: (name: string) => boolean, set: (name: string, value: string) => void): void {
  set('x-content-type-options', 'nosniff')
  if (!has('cache-control')) set('cache-control', 'no-store')
}

/** Sets a header on an answer already made; a `Response` with immutable headers is remade. */
function setAnswerHeader(c: Context, name: string, value: string, append = false): void {
  try {
    if (append) c.res.headers.append(name, value)
    else c.res.headers.set(name, value)
  } catch {
    c.header(name, value, { append })
  }
}

export function createApp(options: AppOptions): App {
  const mounted: readonly Hono<AppEnv>[] = Array.isArray(options.routes) ? options.routes : [options.routes as Hono<AppEnv>]
  const instance: InstanceCounter = options.instance ?? { served: 0 }
  const detached = new Set<Promise<void>>()
  const lifespans = new LifespanRunner()
  const env = options.env ?? globalThis.process?.env ?? {}
  // Log level, service, stage and namespace (lib/telemetry.ts): a bad value stops the app here, naming its variable.
  configureTelemetry(env)
  const tracerOf = tracing(env)
  let initTiming: string | undefined

  const hono = new Hono<AppEnv>()
  hono.use(requestScope)
  // Inside the scope, so that a preflight's answer has a request id and a log line too; only
  // when an origin is configured, so that by default nothing runs for it.
  const cors = readCorsPolicy(env)
  if (cors !== undefined) hono.use(corsMiddleware(cors))
  for (const app of mounted) hono.route('/', app)
  const routes = describeRoutes(hono)
  const routeKeys = new Map(routes.map((item) => [`${item.method} ${item.honoPath}`, item.key]))
  // The same, by Hono's own route entries: what a request matched, without making a string.
  const keyOfEntry = new Map<object, string | null>(hono.routes.map((entry) => [entry, entry.method === 'ALL' ? null : (routeKeys.get(`${entry.method} ${entry.path}`) ?? null)]))
  const known = [...routes, ...(options.knownRoutes ?? [])].map((item) => ({ method: item.method, match: pathPattern(item.path) }))
  const needed = new Set(routes.flatMap((item) => [...item.lifespans]))
  // Each route's stale budget, for the routes that may answer stale: its own, or STALE_AFTER_MS.
  const staleAfterMs = readStaleAfterMs(env)
  const staleBudgets = new Map(routes.flatMap((item) => (item.fallback ? [[item.key, item.fallback.afterMs ?? staleAfterMs] as const] : [])))
  const overrides = new DependencyOverrides(routes.map((item) => item.dependencies))
  const state: AppState = {
    overrides,
    deadlineMs: options.deadlineMs ?? 10_000,
    staleAfterOf(c) {
      for (const entry of matchedRoutes(c)) {
        const budget = staleBudgets.get(keyOfEntry.get(entry) ?? '')
        if (budget !== undefined) return budget
      }
      return undefined
    },
    cache: options.cache ?? new StaleCache(),
    degradedAt: Number.NEGATIVE_INFINITY,
    detach(work) {
      detached.add(work)
      void work.finally(() => detached.delete(work))
    },
  }

  async function requestScope(c: Context<AppEnv>, next: Next): Promise<void> {
    const startedAt = performance.now()
    const cold = instance.served++ === 0
    const bindings = c.env as LambdaBindings | undefined
    const given = c.req.header('x-request-id')
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : (bindings?.requestContext?.requestId ?? crypto.randomUUID())
    const runner = options.lifespansPerRequest ? new LifespanRunner() : lifespans
    // An event's headers are read where they are (payload 2.0 names them in lower case): a web Headers' get() costs more.
    const eventHeaders = bindings?.event !== undefined && isEventRequest(c.req.raw) ? (bindings.event as { headers?: Record<string, string | undefined> }).headers : undefined
    const trace = traceOf(env, eventHeaders ? (name) => eventHeaders[name] : (name) => c.req.header(name))
    const awsRequestId = bindings?.lambdaContext?.awsRequestId
    // On Lambda an instance serves one request at a time: every line until the next is this one's.
    const invocation = { coldStart: cold, functionRequestId: awsRequestId, xrayTraceId: trace?.root }
    if (bindings?.lambdaContext) setInvocation(invocation)
    const scope = new Scope(c, requestId, startedAt, state, runner, trace, tracerOf(trace))
    c.set('scope', scope)
    try {
      if (options.lifespansPerRequest) await runner.startup(needed, { env: stringBindings(c.env) })
      await next()
      if (scope.metrics.stale || c.res.status === 503) state.degradedAt = performance.now()
      await scope.finish(c.error)
    } catch (error) {
      // What Hono's error handler never sees: a lifespan of this request that could not start
      // (a Worker's missing binding). The contract's 500, with the request id and its log line.
      c.res = toWebResponse(toReply(error, { requestId, route: routeKeyOf(c) ?? c.req.path }))
    } finally {
      if (options.lifespansPerRequest) scope.waitUntil(runner.shutdown())
    }
    setAnswerHeader(c, 'x-request-id', requestId)
    // An event's answer gets them from the Lambda adapter, in its plain result object
    // (lambda.ts): undici's Headers cost more on that path than the rest of a small request.
    if (!isEventRequest(c.req.raw)) addSafetyHeaders((name) => c.res.headers.has(name), (name, value) => setAnswerHeader(c, name, value))
    // The instance's first request says so, with its init where known, so that a load test
    // against a deployed URL can count cold starts and time them.
    if (cold) {
      setAnswerHeader(c, 'x-cold-start', '1')
      if (initTiming !== undefined) setAnswerHeader(c, 'server-timing', initTiming, true)
    }
    logRequest({
      requestId,
      invocation,
      method: c.req.method,
      route: routeKeyOf(c),
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      metrics: scope.metrics,
    })
  }

  /** `GET /users/{id}`, as API Gateway and the logs name a route; null when none matched. */
  function routeKeyOf(c: Context): string | null {
    // The last handler that ran (Hono's compose sets the index as it dispatches): the route's
    // own, or a middleware's when no route matched.
    const ran = matchedRoutes(c)[c.req.routeIndex]
    return ran === undefined ? null : (keyOfEntry.get(ran) ?? null)
  }

  hono.notFound(function unrouted(c) {
    const allow = known.filter((item) => item.match.test(c.req.path)).map((item) => item.method)
    return toWebResponse(allow.length === 0 ? notFound() : methodNotAllowed([...new Set(allow)].sort()))
  })
  hono.onError(function answerError(error, c) {
    const scope = c.get('scope') as Scope | undefined
    return toWebResponse(toReply(error, { requestId: scope?.requestId ?? 'unknown', route: routeKeyOf(c) ?? c.req.path }))
  })

  return {
    hono,
    routes,
    dependencyOverrides: overrides,
    async startup() {
      if (!options.lifespansPerRequest) await lifespans.startup(needed, { env, shared: state.cache.shared })
      if (options.tellsInit) initTiming = `init;dur=${performance.now().toFixed(1)}`
    },
    async shutdown() {
      await Promise.allSettled(detached)
      await lifespans.shutdown()
      await state.cache.close()
    },
    get served() {
      return instance.served
    },
    unreadable(method, path, gatewayRequestId) {
      const startedAt = performance.now()
      const cold = instance.served++ === 0
      const requestId = gatewayRequestId ?? crypto.randomUUID()
      const headers: Record<string, string> = { 'x-request-id': requestId }
      addSafetyHeaders((name) => name in headers, (name, value) => (headers[name] = value))
      const reply = jsonReply({ detail: 'There was an error parsing the request' }, 400, headers)
      logRequest({ requestId, invocation: { coldStart: cold }, method, route: null, path, status: 400, durationMs: Math.round((performance.now() - startedAt) * 100) / 100, metrics: newMetrics() })
      return reply
    },
  }
}

/** Worker bindings as configuration: the string ones (vars and secrets). */
export function stringBindings(env: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (typeof env !== 'object' || env === null) return out
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') out[name] = value
  return out
}
