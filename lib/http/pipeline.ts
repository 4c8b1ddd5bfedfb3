/**
 * One request through one route, in FastAPI's order: read the body (400, 413, 415, or 422
 * for JSON that does not parse), solve the dependencies (an HttpError raised by one is the
 * response), validate path, query, header and body parameters together (one 422 listing
 * every problem), run the handler, filter its result through the response schema; then tear
 * the dependencies down and hand the background tasks to the runtime.
 *
 * The pipeline reads an `IncomingRequest`, which Hono's context (incoming.ts) or a Lambda
 * event (lambda.ts) provides, and answers with a `Reply` or the handler's own `Response`.
 */
import * as v from 'valibot'
import { log, writeLogLine } from '../log.ts'
import { BackgroundTasks } from './background.ts'
import { readBody, type BodySource } from './body.ts'
import { DependencySolver, type Overrides, type RequestScope } from './depends.ts'
import { HttpError, RequestValidationError, ResponseValidationError, toReply } from './errors.ts'
import type { Lifespan, LifespanRunner } from './lifespan.ts'
import { problemsFromIssues, type Location, type ValidationProblem } from './problems.ts'
import { isResponse, JSON_TYPE, setHeader, type Outcome } from './reply.ts'
import type { Route } from './route.ts'
import { emfFields, type RequestMetrics } from './metrics.ts'
import { cacheKey, type StaleCache } from './stale-cache.ts'

/** What Lambda tells a function about the invocation in flight. */
export interface LambdaInvocation {
  getRemainingTimeInMillis(): number
  readonly awsRequestId?: string
}

/** A request as the pipeline reads it, whatever carried it. */
export interface IncomingRequest {
  readonly method: string
  readonly path: string
  param(name: string): string | undefined
  allParams(): Record<string, string>
  /** The query string; a repeated key keeps its last value, as Starlette's QueryParams does. */
  query(): Record<string, string>
  header(name: string): string | undefined
  allHeaders(): Record<string, string>
  readonly body: BodySource
  /** The request as a web `Request`, made on first use. */
  webRequest(): Request
  readonly lambda: LambdaInvocation | undefined
  /** API Gateway's id for the request, when it came through API Gateway. */
  readonly gatewayRequestId: string | undefined
  /** Hands work to the runtime to finish after the response; false where it cannot. */
  waitUntil(work: Promise<void>): boolean
}

/** What the app knows of a request before a route serves it. */
export interface RequestMeta {
  readonly requestId: string
  readonly startedAt: number
  /** Filled in on the way, written on the request's log line. */
  readonly metrics: RequestMetrics
}

/** What the app gives every route it serves. */
export interface ServeContext {
  readonly overrides: Overrides
  readonly lifespans: LifespanRunner
  /** The time budget of a request where the runtime gives none (not on Lambda). */
  readonly deadlineMs: number
  /** Keeps background work alive where the runtime has no `waitUntil` (Node). */
  readonly detach: (work: Promise<void>) => void
  /** Last good answers of the routes that may fall back to them. */
  readonly cache: StaleCache
}

export function queryFromString(search: string): Record<string, string> {
  const query: Record<string, string> = {}
  if (search === '') return query
  for (const [key, value] of new URLSearchParams(search)) query[key] = value
  return query
}

function validate(location: Location, schema: v.GenericSchema | undefined, input: unknown, problems: ValidationProblem[]): unknown {
  if (schema === undefined) return undefined
  const result = v.safeParse(schema, input)
  if (result.success) return result.output
  problems.push(...problemsFromIssues(location, result.issues))
  return undefined
}

function entryNames(schema: v.GenericSchema | undefined): string[] | undefined {
  const entries = (schema as { entries?: Record<string, unknown> } | undefined)?.entries
  return entries ? Object.keys(entries) : undefined
}

/** The values an object schema names, read one by one; everything for any other schema. */
function pick(names: readonly string[] | undefined, read: (name: string) => string | undefined, all: () => Record<string, string>) {
  if (names === undefined) return all()
  const picked: Record<string, string> = {}
  for (const name of names) {
    const value = read(name)
    if (value !== undefined) picked[name] = value
  }
  return picked
}

/** The handler's result as a reply, with the request id put in as it is made. */
function serialize(route: Route, result: unknown, requestId: string): Outcome {
  if (isResponse(result)) {
    result.headers.set('x-request-id', requestId)
    return result
  }
  if (route.status === 204 || route.status === 304) return { status: route.status, headers: { 'x-request-id': requestId }, body: null }
  let output = result
  if (route.response !== undefined) {
    const parsed = v.safeParse(route.response, result)
    if (!parsed.success) {
      const where = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`).join('; ')
      throw new ResponseValidationError(`response of ${route.key} does not match its schema: ${where}`)
    }
    output = parsed.output
  }
  return { status: route.status, headers: { 'content-type': JSON_TYPE, 'x-request-id': requestId }, body: JSON.stringify(output) }
}

/** The per-request view handed to dependencies and handlers; parts are made on first use. */
class Scope implements RequestScope {
  readonly requestId: string
  readonly metrics: RequestMetrics
  readonly #incoming: IncomingRequest
  readonly #app: ServeContext
  readonly #deadline: number
  #background: BackgroundTasks | undefined
  #responseHeaders: Headers | undefined

  constructor(incoming: IncomingRequest, meta: RequestMeta, app: ServeContext) {
    this.requestId = meta.requestId
    this.metrics = meta.metrics
    this.#incoming = incoming
    this.#app = app
    this.#deadline = meta.startedAt + app.deadlineMs
  }

  get request(): Request {
    return this.#incoming.webRequest()
  }

  get background(): BackgroundTasks {
    return (this.#background ??= new BackgroundTasks())
  }

  get responseHeaders(): Headers {
    return (this.#responseHeaders ??= new Headers())
  }

  get pendingBackground(): BackgroundTasks | undefined {
    return this.#background
  }

  get addedHeaders(): Headers | undefined {
    return this.#responseHeaders
  }

  state<S>(lifespan: Lifespan<S>): S {
    return this.#app.lifespans.state(lifespan)
  }

  header(name: string): string | undefined {
    return this.#incoming.header(name.toLowerCase())
  }

  keepLastGood(key: string, value: string): void {
    const shared = this.#app.cache.keep(key, value)
    if (shared !== undefined && !this.#incoming.waitUntil(shared)) this.#app.detach(shared)
  }

  findLastGood(key: string): Promise<{ readonly value: string; readonly ageSeconds: number } | undefined> {
    return this.#app.cache.find(key)
  }

  remainingMs(): number {
    const lambda = this.#incoming.lambda
    return lambda ? lambda.getRemainingTimeInMillis() : Math.max(0, this.#deadline - performance.now())
  }
}

export type RouteServer = (incoming: IncomingRequest, meta: RequestMeta) => Promise<Outcome>

export function routeServer(route: Route, app: ServeContext): RouteServer {
  const fallback = route.fallback
  const hasDependencies = Object.keys(route.dependencies).length > 0 || fallback?.authority !== undefined
  const paramNames = entryNames(route.params)
  const headerNames = entryNames(route.headers)
  return async function serveRoute(incoming, meta) {
    const requestId = meta.requestId
    const scope = new Scope(incoming, meta, app)
    const solver = hasDependencies ? new DependencySolver(scope, app.overrides) : undefined
    let outcome: Outcome
    let failure: unknown
    let key: string | undefined
    try {
      const body = route.body === undefined ? undefined : await readBody(incoming.body, route.body)
      // The caller's authority first: without it, nothing may come from the cache.
      const authority = fallback?.authority && solver ? String((await solver.resolveAll({ authority: fallback.authority })).authority) : 'anyone'
      const deps = solver === undefined ? {} : await solver.resolveAll(route.dependencies)
      const problems: ValidationProblem[] = []
      const params = route.params && validate('path', route.params, pick(paramNames, (n) => incoming.param(n), () => incoming.allParams()), problems)
      const query = route.query && validate('query', route.query, incoming.query(), problems)
      const headers = route.headers && validate('header', route.headers, pick(headerNames, (n) => incoming.header(n), () => incoming.allHeaders()), problems)
      let bodyValue: unknown = body
      if (route.body !== undefined && route.body.kind !== 'bytes') {
        const schema = route.body.schema
        if (body === undefined && !v.safeParse(schema, undefined).success) {
          problems.push({ loc: ['body'], msg: 'Field required', type: 'missing' })
        } else {
          bodyValue = validate('body', schema, body, problems)
        }
      }
      if (problems.length > 0) throw new RequestValidationError(problems)
      if (fallback) key = cacheKey(route.key, authority, params, query)
      const result = await route.handler({ params, query, headers, body: bodyValue, deps, scope })
      outcome = serialize(route, result, requestId)
      if (key !== undefined && !isResponse(outcome) && outcome.status === 200) {
        const shared = app.cache.remember(key, outcome)
        if (shared !== undefined && !incoming.waitUntil(shared)) app.detach(shared)
      }
    } catch (error) {
      failure = error
      const stale = key !== undefined && error instanceof HttpError && error.status === 503 ? await app.cache.recall(key, requestId) : undefined
      if (stale !== undefined) {
        log('warn', 'served stale', { request_id: requestId, route: route.key, age_s: Number(stale.headers.age) })
        meta.metrics.stale = true
        outcome = stale
      } else {
        outcome = toReply(error, { requestId, route: route.key })
        setHeader(outcome, 'x-request-id', requestId)
      }
    }
    if (solver?.hasTeardowns) await solver.teardown(failure)
    scope.addedHeaders?.forEach((value, name) => setHeader(outcome, name, value))
    const background = scope.pendingBackground
    if (background !== undefined && background.size > 0) {
      // Starts once the response exists; Lambda's adapter waits for it before returning.
      const work = Promise.resolve().then(() => background.run(requestId))
      if (!incoming.waitUntil(work)) app.detach(work)
    }
    return outcome
  }
}

export interface RequestLine {
  readonly requestId: string
  readonly awsRequestId: string | undefined
  readonly method: string
  readonly route: string | null
  readonly path: string
  readonly status: number
  readonly durationMs: number
  readonly cold: boolean
  readonly metrics: RequestMetrics
}

let clockMs = 0
let clockIso = ''

/** The current time in ISO 8601, formatted at most once a millisecond. */
function isoNow(): string {
  const now = Date.now()
  if (now !== clockMs) {
    clockMs = now
    clockIso = new Date(now).toISOString()
  }
  return clockIso
}

/**
 * The one line per request, written field by field: it is on every request's path, and a
 * generic `log()` call costs several times more. It is also an EMF document (metrics.ts).
 */
export function logRequest(line: RequestLine): void {
  writeLogLine(
    'info',
    `{"level":"info","time":"${isoNow()}","message":"request","request_id":${JSON.stringify(line.requestId)}${
      line.awsRequestId === undefined ? '' : `,"aws_request_id":${JSON.stringify(line.awsRequestId)}`
    },"method":${JSON.stringify(line.method)},"route":${line.route === null ? 'null' : JSON.stringify(line.route)},"path":${JSON.stringify(
      line.path,
    )},"status":${line.status},"duration_ms":${line.durationMs},"cold":${line.cold}${emfFields(line.route, line.metrics)}}`,
  )
}
