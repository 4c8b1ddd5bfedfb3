/**
 * One request through one route, in FastAPI's order: read the body (400, 413, 415, or 422
 * for JSON that does not parse), solve the dependencies (an HttpError raised by one is the
 * response), validate path, query, header and body parameters together (one 422 listing
 * every problem), run the handler, filter its result through the response schema; then tear
 * the dependencies down and hand the background tasks to the runtime.
 */
import type { Context } from 'hono'
import * as v from 'valibot'
import { writeLogLine } from '../log.ts'
import { readBody } from './body.ts'
import { BackgroundTasks } from './background.ts'
import { DependencySolver, type Overrides, type RequestScope } from './depends.ts'
import { RequestValidationError, ResponseValidationError, toResponse } from './errors.ts'
import type { Lifespan, LifespanRunner } from './lifespan.ts'
import { problemsFromIssues, type Location, type ValidationProblem } from './problems.ts'
import type { Route } from './route.ts'

/** What the Lambda adapter passes as Hono's env (hono/aws-lambda's bindings). */
export interface LambdaBindings {
  readonly lambdaContext?: { getRemainingTimeInMillis(): number; readonly awsRequestId?: string }
  readonly requestContext?: { readonly requestId?: string }
}

export interface AppEnv {
  Bindings: LambdaBindings
}

/** What the app knows of a request before a route serves it. */
export interface RequestMeta {
  readonly requestId: string
  readonly startedAt: number
}

/** What the app gives every route it serves. */
export interface ServeContext {
  readonly overrides: Overrides
  readonly lifespans: LifespanRunner
  /** The time budget of a request where the runtime gives none (not on Lambda). */
  readonly deadlineMs: number
  /** Keeps background work alive where the runtime has no `waitUntil` (Node). */
  readonly detach: (work: Promise<void>) => void
}

function validate(location: Location, schema: v.GenericSchema | undefined, input: unknown, problems: ValidationProblem[]): unknown {
  if (schema === undefined) return undefined
  const result = v.safeParse(schema, input)
  if (result.success) return result.output
  problems.push(...problemsFromIssues(location, result.issues))
  return undefined
}

function queryOf(url: string): Record<string, string> {
  const query: Record<string, string> = {}
  const start = url.indexOf('?')
  if (start === -1) return query
  // A repeated key keeps its last value, as Starlette's QueryParams does.
  for (const [key, value] of new URLSearchParams(url.slice(start + 1))) query[key] = value
  return query
}

function headersOf(schema: v.GenericSchema, headers: Headers): Record<string, string> {
  const picked: Record<string, string> = {}
  const entries = (schema as { entries?: Record<string, unknown> }).entries
  const names = entries ? Object.keys(entries) : [...headers.keys()]
  for (const name of names) {
    const value = headers.get(name)
    if (value !== null) picked[name] = value
  }
  return picked
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** The handler's result as a response; the request id goes in as it is made (setting a header afterwards costs more). */
function serialize(route: Route, result: unknown, requestId: string): Response {
  if (result instanceof Response) {
    result.headers.set('x-request-id', requestId)
    return result
  }
  if (route.status === 204 || route.status === 304) return new Response(null, { status: route.status, headers: { 'x-request-id': requestId } })
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: route.status, headers: { 'content-type': JSON_TYPE, 'x-request-id': requestId } })
  if (route.response === undefined) return json(result)
  const parsed = v.safeParse(route.response, result)
  if (!parsed.success) {
    const where = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`).join('; ')
    throw new ResponseValidationError(`response of ${route.key} does not match its schema: ${where}`)
  }
  return json(parsed.output)
}

function executionContextOf(c: Context): { waitUntil(promise: Promise<unknown>): void } | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined // Node's server has none.
  }
}

/** The per-request view handed to dependencies and handlers; parts are made on first use. */
class Scope implements RequestScope {
  readonly request: Request
  readonly requestId: string
  readonly #app: ServeContext
  readonly #lambda: LambdaBindings['lambdaContext']
  readonly #deadline: number
  #background: BackgroundTasks | undefined
  #responseHeaders: Headers | undefined

  constructor(c: Context<AppEnv>, meta: RequestMeta, app: ServeContext) {
    this.request = c.req.raw
    this.requestId = meta.requestId
    this.#app = app
    this.#lambda = c.env?.lambdaContext
    this.#deadline = meta.startedAt + app.deadlineMs
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

  remainingMs(): number {
    return this.#lambda ? this.#lambda.getRemainingTimeInMillis() : Math.max(0, this.#deadline - performance.now())
  }
}

function entryNames(schema: v.GenericSchema | undefined): string[] | undefined {
  const entries = (schema as { entries?: Record<string, unknown> } | undefined)?.entries
  return entries ? Object.keys(entries) : undefined
}

/** Path parameters by name (Hono decodes each on its own), or all of them for a non-object schema. */
function paramsOf(c: Context, names: readonly string[] | undefined): Record<string, string> {
  if (names === undefined) return c.req.param()
  const params: Record<string, string> = {}
  for (const name of names) {
    const value = c.req.param(name)
    if (value !== undefined) params[name] = value
  }
  return params
}

export function routeHandler(route: Route, app: ServeContext) {
  const hasDependencies = Object.keys(route.dependencies).length > 0
  const paramNames = entryNames(route.params)
  return async function serveRoute(c: Context<AppEnv>, meta: RequestMeta): Promise<Response> {
    const requestId = meta.requestId
    const scope = new Scope(c, meta, app)
    const solver = hasDependencies ? new DependencySolver(scope, app.overrides) : undefined
    let response: Response
    let failure: unknown
    try {
      const body = route.body === undefined ? undefined : await readBody(c.req.raw, route.body)
      const deps = solver === undefined ? {} : await solver.resolveAll(route.dependencies)
      const problems: ValidationProblem[] = []
      const params = validate('path', route.params, route.params && paramsOf(c, paramNames), problems)
      const query = validate('query', route.query, route.query && queryOf(c.req.url), problems)
      const headers = validate('header', route.headers, route.headers && headersOf(route.headers, c.req.raw.headers), problems)
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
      const result = await route.handler({ params, query, headers, body: bodyValue, deps, scope })
      response = serialize(route, result, requestId)
    } catch (error) {
      failure = error
      response = toResponse(error, { requestId, route: route.key })
      response.headers.set('x-request-id', requestId)
    }
    if (solver?.hasTeardowns) await solver.teardown(failure)
    scope.addedHeaders?.forEach((value, name) => response.headers.set(name, value))
    const background = scope.pendingBackground
    if (background !== undefined && background.size > 0) {
      // Starts once the response exists; Lambda's adapter waits for it before returning.
      const work = Promise.resolve().then(() => background.run(requestId))
      const runtime = executionContextOf(c)
      if (runtime) runtime.waitUntil(work)
      else app.detach(work)
    }
    return response
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
}

/**
 * The one line per request, written field by field: it is on every request's path, and a
 * generic `log()` call costs several times more.
 */
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

export function logRequest(line: RequestLine): void {
  writeLogLine(
    'info',
    `{"level":"info","time":"${isoNow()}","message":"request","request_id":${JSON.stringify(line.requestId)}${
      line.awsRequestId === undefined ? '' : `,"aws_request_id":${JSON.stringify(line.awsRequestId)}`
    },"method":${JSON.stringify(line.method)},"route":${line.route === null ? 'null' : JSON.stringify(line.route)},"path":${JSON.stringify(
      line.path,
    )},"status":${line.status},"duration_ms":${line.durationMs},"cold":${line.cold}}`,
  )
}
