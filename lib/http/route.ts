/**
 * What FastAPI gives a path operation, as Hono middleware for an ordinary Hono route:
 *
 *   new Hono<AppEnv>().get('/users/:id',
 *     describe({ summary: 'Read a user', tags: ['users'] }),
 *     needs({ db: dbConn, caller: currentUser }),      // Depends: c.var.db, c.var.caller
 *     validate({ param: v.object({ id: intParam() }) }), // one 422 listing every problem
 *     staleFallback(adminOrSelfAuthority),               // the last good answer when the database is out
 *     responds(User),                                    // the response model: c.var.respond(user)
 *     async (c) => c.var.respond(await findUser(c.var.db, c.req.valid('param').id)))
 *
 * Each middleware also carries what it declares, which the app reads to start the lifespans
 * the route needs and which the OpenAPI document is written from (routes-info.ts).
 */
import type { Context, MiddlewareHandler, TypedResponse } from 'hono'
import { routePath } from 'hono/route'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { JSONParsed } from 'hono/utils/types'
import * as v from 'valibot'
import { log } from '../log.ts'
import type { Scope } from './app.ts'
import { readBody, type BodySpec, type RawBody } from './body.ts'
import { declared, type Validation } from './declarations.ts'
import { analyze, type Dependency, type DependencyMap, type Resolved } from './depends.ts'
import type { AppEnv } from './env.ts'
import { HttpError, RequestValidationError, ResponseValidationError } from './errors.ts'
import type { Location, ValidationProblem } from './problems.ts'
import { eventAnswer, isEventRequest, keptText, withText } from './lambda-event.ts'
import { JSON_TYPE, toWebResponse, type Reply } from './reply.ts'
import { toOpenApiPath } from './routes-info.ts'
import { settlesWithin } from '../db/timeout.ts'
import { cacheKey } from './stale-cache.ts'

type Schema = v.GenericSchema

export { describe, type ResponseDoc, type RouteDoc, type Validation } from './declarations.ts'

const scopeOf = (c: Context) => c.get('scope') as Scope

/** `GET /users/{id}`: the route being served, as the logs and the app name it. */
const routeKey = (c: Context) => `${c.req.method} ${toOpenApiPath(routePath(c))}`

/**
 * FastAPI's `Depends`: resolves each dependency (once per request, shared by every use) and
 * sets its value on `c.var` under its key, typed. Teardowns run after the response, in
 * reverse order. A cycle in the graph fails here, when the module defining the route loads.
 */
export function needs<const D extends DependencyMap>(dependencies: D): MiddlewareHandler<{ Variables: Resolved<D> }> {
  analyze(dependencies)
  const keys = Object.keys(dependencies)
  return declared(
    async function resolveDependencies(c, next) {
      const values = await scopeOf(c).resolve(dependencies)
      for (const key of keys) c.set(key as never, values[key] as never)
      await next()
    },
    { kind: 'needs', dependencies },
  )
}

type Targets = 'param' | 'query' | 'header' | 'json' | 'form'

type InputOf<V extends Validation> = { [K in keyof V & Targets]: V[K] extends Schema ? v.InferInput<V[K]> : never }
type OutputOf<V extends Validation> = { [K in keyof V & Targets]: V[K] extends Schema ? v.InferOutput<V[K]> : never }
/** Raw bytes are no Hono validation target: they arrive as `c.var.rawBody`. */
type EnvOf<V extends Validation> = V extends { readonly bytes: object } ? AppEnv & { Variables: { rawBody: RawBody } } : AppEnv

function bodySpecOf(validation: Validation): BodySpec | undefined {
  const given = [validation.json, validation.form, validation.bytes].filter((item) => item !== undefined).length
  if (given > 1) throw new Error('validate(): a body is json, form or bytes, not more than one of them')
  const maxBytes = validation.maxBytes === undefined ? {} : { maxBytes: validation.maxBytes }
  if (validation.json) return { kind: 'json', schema: validation.json, ...maxBytes }
  if (validation.form) return { kind: 'form', schema: validation.form, ...maxBytes }
  if (validation.bytes) return { kind: 'bytes', ...validation.bytes }
  return undefined
}

const OBJECT_TYPES = new Set(['object', 'loose_object', 'strict_object', 'object_with_rest'])

/** A schema's issues where they arose, or a problem already worded. */
type Failure = readonly [Location, readonly v.BaseIssue<unknown>[]] | ValidationProblem

function check(location: Location, schema: Schema, input: unknown, failures: Failure[], allowNul = false): unknown {
  const result = v.safeParse(schema, input)
  if (!result.success) {
    failures.push([location, result.issues])
    return undefined
  }
  if (!allowNul) findNul(result.output, [location], failures)
  return result.output
}

const NUL_PROBLEM = { msg: 'Value error, text must not contain NUL (\\u0000) characters', type: 'value_error' } as const

/**
 * Every place in a validated value where text holds a NUL: PostgreSQL refuses to store it
 * (SQLSTATE 22021), so it is a 422 here rather than a 500 there, whichever field it is in.
 * `loc` is the path so far, grown and shrunk in place: a value with no NUL, every request's,
 * is walked without allocating.
 */
function findNul(value: unknown, loc: (string | number)[], failures: Failure[]): void {
  if (typeof value === 'string') {
    if (value.includes('\0')) failures.push({ loc: [...loc], ...NUL_PROBLEM })
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      loc.push(index)
      findNul(value[index], loc, failures)
      loc.pop()
    }
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) {
      loc.push(key)
      findNul((value as Record<string, unknown>)[key], loc, failures)
      loc.pop()
    }
  }
}

/** FastAPI's 422 for what failed; its wording (problems.ts) loads with the first request that needs it. */
async function validationError(failures: readonly Failure[]): Promise<RequestValidationError> {
  const { problemsFromIssues } = await import('./problems.ts')
  return new RequestValidationError(failures.flatMap((failure) => (Array.isArray(failure) ? problemsFromIssues(...(failure as [Location, v.BaseIssue<unknown>[]])) : [failure as ValidationProblem])))
}

function entryNames(schema: Schema | undefined): string[] | undefined {
  const entries = (schema as { entries?: Record<string, unknown> } | undefined)?.entries
  return entries ? Object.keys(entries) : undefined
}

/** The query string; a repeated key keeps its last value, as Starlette's QueryParams does. */
export function queryFromUrl(url: string): Record<string, string> {
  const query: Record<string, string> = {}
  const at = url.indexOf('?')
  if (at === -1 || at === url.length - 1) return query
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) query[key] = value
  return query
}

/**
 * Validation of path, query, header and body parameters together, as FastAPI does: the body
 * is read first (400, 413, 415, or 422 `json_invalid`), then every location is checked and
 * one 422 lists every problem. The values, as the schemas output them, are `c.req.valid(…)`
 * (`c.var.rawBody` for raw bytes).
 */
export function validate<const V extends Validation>(validation: V): MiddlewareHandler<EnvOf<V>, string, { in: InputOf<V>; out: OutputOf<V> }> {
  const body = bodySpecOf(validation)
  const headerNames = entryNames(validation.header)
  return declared(
    async function validateRequest(c, next) {
      const read = body === undefined ? undefined : await readBody(bodySource(c), body)
      const failures: Failure[] = []
      const valid: [string, unknown][] = []
      const { allowNul } = validation
      if (validation.param) valid.push(['param', check('path', validation.param, c.req.param(), failures, allowNul)])
      if (validation.query) valid.push(['query', check('query', validation.query, queryFromUrl(c.req.url), failures, allowNul)])
      if (validation.header) valid.push(['header', check('header', validation.header, headersOf(c, headerNames), failures, allowNul)])
      if (body !== undefined && body.kind === 'bytes') c.set('rawBody' as never, read as never)
      else if (body !== undefined) {
        if (read === undefined && !v.safeParse(body.schema, undefined).success) failures.push({ loc: ['body'], msg: 'Field required', type: 'missing' })
        // valibot's object takes an array; pydantic's model does not.
        else if (Array.isArray(read) && OBJECT_TYPES.has(body.schema.type)) failures.push({ loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' })
        else valid.push([body.kind, check('body', body.schema, read, failures, allowNul)])
      }
      if (failures.length > 0) throw await validationError(failures)
      for (const [target, value] of valid) c.req.addValidatedData(target as never, value as never)
      await next()
    },
    { kind: 'validate', validation, body },
  )
}

function bodySource(c: Context) {
  return {
    contentType: c.req.header('content-type') ?? null,
    contentLength: c.req.header('content-length') ?? null,
    // Through Hono's request, which keeps the bytes: `c.req.json()` still works after.
    bytes: async () => new Uint8Array(await c.req.arrayBuffer()),
  }
}

/** The headers an object schema names, read one by one; all of them for any other schema. */
function headersOf(c: Context, names: readonly string[] | undefined): Record<string, string> {
  if (names === undefined) return c.req.header()
  const picked: Record<string, string> = {}
  for (const name of names) {
    const value = c.req.header(name)
    if (value !== undefined) picked[name] = value
  }
  return picked
}

/** What `responds()` puts on `c.var`: the answer, filtered through the response model. */
export type Respond<S extends Schema, Status extends ContentfulStatusCode> = (
  value: v.InferInput<S>,
) => Response & TypedResponse<JSONParsed<v.InferOutput<S>>, Status, 'json'>

/**
 * FastAPI's `response_model`: `c.var.respond(value)` sends the value as the schema outputs
 * it, so a field the schema does not declare never leaves; a value that does not fit is our
 * bug, answered 500 and logged.
 */
export function responds<const S extends Schema, const Status extends ContentfulStatusCode = 200>(
  schema: S,
  status: Status = 200 as Status,
): MiddlewareHandler<{ Variables: { respond: Respond<S, Status> } }> {
  return declared(
    async function responseModel(c, next) {
      // An unnamed closure: tsx (keepNames) would rename a named one on every request.
      c.set('respond', ((value) => modelAnswer(c, schema, status, value)) as Respond<S, Status>)
      await next()
    },
    { kind: 'responds', schema, status },
  )
}

/** The answer `respond()` makes: the value as the schema outputs it, as JSON. */
function modelAnswer(c: Context, schema: Schema, status: ContentfulStatusCode, value: unknown): Response {
  const parsed = v.safeParse(schema, value)
  if (!parsed.success) {
    const where = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`).join('; ')
    throw new ResponseValidationError(`response of ${routeKey(c)} does not match its schema: ${where}`)
  }
  const text = JSON.stringify(parsed.output)
  if (isEventRequest(c.req.raw)) {
    // Hono makes the status and headers (with any the handler set), without the body; the
    // type is set after, which costs undici less than converting headers given with it.
    const shell = c.body(null, status)
    shell.headers.set('content-type', JSON_TYPE)
    return eventAnswer(shell, text)
  }
  return withText(c.body(text, status, { 'content-type': JSON_TYPE }), text)
}

export interface StaleOptions {
  /** The route's stale budget, in ms from the request's start (default STALE_AFTER_MS). */
  readonly afterMs?: number
}

/**
 * A read that may be answered from its last good answer, marked stale (RFC 9111 `Age`, RFC
 * 9211 `Cache-Status`), when the database cannot answer: a 503 from a dependency or the
 * handler, or no answer within the stale budget (`afterMs`, STALE_AFTER_MS by default, from
 * the request's start), when the fresh attempt is abandoned. `authority` resolves to what the
 * caller may see (a role, a user id): answers are kept and served per authority, with the
 * validated path and query; when it cannot be resolved nothing is served from the cache.
 * GET only; put it after `validate()`.
 */
export function staleFallback(authority?: Dependency<string>, options: StaleOptions = {}): MiddlewareHandler<AppEnv> {
  return declared(
    async function servedStaleWhenDown(c, next) {
      const scope = scopeOf(c)
      const who = authority === undefined ? 'anyone' : String((await scope.resolve({ authority })).authority)
      const route = routeKey(c)
      const key = cacheKey(route, who, c.req.valid('param' as never), c.req.valid('query' as never))
      const handled = next()
      // Past the budget with a kept answer to give, the fresh attempt is abandoned: the
      // handler's statements fail at once (503), and the kept answer goes out below.
      let kept: Reply | undefined
      if (!(await settlesWithin(handled, scope.staleBudgetLeftMs() ?? 0))) {
        kept = await scope.cache.recall(key, scope.requestId)
        if (kept !== undefined) scope.abandonDatabase()
      }
      await handled
      const error = c.error
      const stale = error instanceof HttpError && error.status === 503
      // A caller identified from the kept record at the budget: the read of their row decides any answer but a stale one.
      const failed = stale ? undefined : await scope.confirmations()
      if (failed !== undefined) throw failed
      if (stale) {
        // The answer found at the budget, not looked up (in Redis too) a second time.
        const answer = kept ?? (await scope.cache.recall(key, scope.requestId))
        if (answer === undefined) return
        log('warn', 'served stale', { request_id: scope.requestId, route, age_s: Number(answer.headers.age) })
        scope.metrics.stale = true
        c.res = undefined // so that none of the 503's headers (Retry-After) are carried over
        c.res = toWebResponse(answer)
      } else if (error === undefined && c.res.status === 200) {
        // The text `respond()` kept on its answer: an answer made otherwise is not remembered.
        const body = keptText(c.res)
        if (body !== undefined) scope.waitUntil(scope.cache.remember(key, { status: 200, headers: { 'content-type': c.res.headers.get('content-type') ?? JSON_TYPE }, body }))
      }
    },
    { kind: 'fallback', authority, afterMs: options.afterMs },
  )
}
