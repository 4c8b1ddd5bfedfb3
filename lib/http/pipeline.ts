/**
 * One request through one route, in FastAPI's order: read the body (400, 413, 415, or 422
 * for JSON that does not parse), solve the dependencies (an HttpError raised by one is the
 * response), validate path, query, header and body parameters together (one 422 listing
 * every problem), run the handler, filter its result through the response schema; then tear
 * the dependencies down and hand the background tasks to the runtime.
 */
import type { Context } from 'hono'
import * as v from 'valibot'
import { log } from '../log.ts'
import { readBody } from './body.ts'
import { BackgroundTasks } from './background.ts'
import { DependencySolver, type Overrides, type RequestScope } from './depends.ts'
import { jsonResponse, RequestValidationError, ResponseValidationError, toResponse } from './errors.ts'
import type { LifespanRunner } from './lifespan.ts'
import { problemsFromIssues, type Location, type ValidationProblem } from './problems.ts'
import type { Route } from './route.ts'

/** What the Lambda adapter passes as Hono's env (hono/aws-lambda's bindings). */
export interface LambdaBindings {
  readonly lambdaContext?: { getRemainingTimeInMillis(): number; readonly awsRequestId?: string }
  readonly requestContext?: { readonly requestId?: string }
}

export interface AppEnv {
  Bindings: LambdaBindings
  Variables: { requestId: string; route: string; startedAt: number }
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

function serialize(route: Route, result: unknown): Response {
  if (result instanceof Response) return result
  if (route.status === 204 || route.status === 304) return new Response(null, { status: route.status })
  if (route.response === undefined) return jsonResponse(result, route.status)
  const parsed = v.safeParse(route.response, result)
  if (!parsed.success) {
    const where = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`).join('; ')
    throw new ResponseValidationError(`response of ${route.key} does not match its schema: ${where}`)
  }
  return jsonResponse(parsed.output, route.status)
}

function executionContextOf(c: Context): { waitUntil(promise: Promise<unknown>): void } | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined // Node's server has none.
  }
}

export function routeHandler(route: Route, app: ServeContext) {
  return async function serveRoute(c: Context<AppEnv>): Promise<Response> {
    c.set('route', route.key)
    const requestId = c.get('requestId')
    const lambda = c.env?.lambdaContext
    const deadline = c.get('startedAt') + app.deadlineMs
    const scope: RequestScope = {
      request: c.req.raw,
      requestId,
      background: new BackgroundTasks(),
      responseHeaders: new Headers(),
      state: (lifespan) => app.lifespans.state(lifespan),
      remainingMs: lambda ? () => lambda.getRemainingTimeInMillis() : () => Math.max(0, deadline - performance.now()),
    }
    const solver = new DependencySolver(scope, app.overrides)
    let response: Response
    let failure: unknown
    try {
      const body = route.body === undefined ? undefined : await readBody(c.req.raw, route.body)
      const deps = await solver.resolveAll(route.dependencies)
      const problems: ValidationProblem[] = []
      const params = validate('path', route.params, c.req.param(), problems)
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
      response = serialize(route, result)
    } catch (error) {
      failure = error
      response = toResponse(error, { requestId, route: route.key })
    }
    await solver.teardown(failure)
    scope.responseHeaders.forEach((value, name) => response.headers.set(name, value))
    if (scope.background.size > 0) {
      // Starts once the response exists; Lambda's adapter waits for it before returning.
      const work = Promise.resolve().then(() => scope.background.run(requestId))
      const runtime = executionContextOf(c)
      if (runtime) runtime.waitUntil(work)
      else app.detach(work)
    }
    return response
  }
}

export function logRequest(fields: Record<string, unknown>): void {
  log('info', 'request', fields)
}
