/**
 * A route declared once, FastAPI-style: method, path, the schemas of its path, query,
 * header and body parameters, its dependencies, its response schema and status. From the
 * definition come the Hono handler (pipeline.ts), the Lambda handler of its own function
 * (lambda.ts) and its OpenAPI operation (openapi.ts). The handler's input is typed from the
 * schemas and the dependencies, with no casts at the call site.
 */
import type * as v from 'valibot'
import type { BodySpec, RawBody } from './body.ts'
import { analyze, type Dependency, type DependencyMap, type RequestScope, type Resolved } from './depends.ts'
import type { Lifespan } from './lifespan.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

type Schema = v.GenericSchema

type Out<S> = S extends Schema ? v.InferOutput<S> : undefined

type BodyValue<B> = B extends { kind: 'bytes' } ? RawBody : B extends { schema: infer S } ? Out<S> : undefined

export interface HandlerInput<P, Q, H, B, D extends DependencyMap> {
  readonly params: Out<P>
  readonly query: Out<Q>
  readonly headers: Out<H>
  readonly body: BodyValue<B>
  readonly deps: Resolved<D>
  readonly scope: RequestScope
}

/** What a handler returns: data for the response schema, or a ready `Response`. */
export type HandlerResult<R> = (R extends Schema ? v.InferInput<R> : unknown) | Response

/**
 * A read that may be answered from its last good response when the service behind it is
 * unavailable (a 503 from a dependency or the handler). `authority` resolves to what the
 * caller may see (a role, a user id); answers are kept and served per authority, and when it
 * cannot be resolved nothing is served from the cache.
 */
export interface FallbackSpec {
  readonly authority?: Dependency<string>
}

export interface ResponseDoc {
  readonly description: string
  readonly schema?: Schema
  readonly contentType?: string
}

export interface RouteDefinition<P, Q, H, B, D extends DependencyMap, R> {
  readonly method: HttpMethod
  /** FastAPI / OpenAPI form: `/users/{id}`. */
  readonly path: string
  readonly summary?: string
  readonly description?: string
  readonly tags?: readonly string[]
  readonly params?: P
  readonly query?: Q
  readonly headers?: H
  readonly body?: B
  readonly dependencies?: D
  /** Filters and shapes what is sent: a field it does not declare never leaves. */
  readonly response?: R
  /** Status of a successful answer (200 unless said). */
  readonly status?: number
  /** Other answers, for the OpenAPI document. */
  readonly responses?: Readonly<Record<number, ResponseDoc>>
  /** GET only: serve the last good answer, marked stale, when the database is unavailable. */
  readonly fallback?: FallbackSpec
  readonly handler: (input: HandlerInput<P, Q, H, B, D>) => HandlerResult<R> | Promise<HandlerResult<R>>
}

/** A defined route, its types erased for the machinery that serves and documents it. */
export interface Route {
  readonly method: HttpMethod
  readonly path: string
  /** Hono's form of the path: `/users/:id`. */
  readonly honoPath: string
  /** `GET /users/{id}`, as API Gateway and the logs name it. */
  readonly key: string
  readonly status: number
  readonly summary: string | undefined
  readonly description: string | undefined
  readonly tags: readonly string[]
  readonly params: Schema | undefined
  readonly query: Schema | undefined
  readonly headers: Schema | undefined
  readonly body: BodySpec | undefined
  readonly dependencies: DependencyMap
  readonly response: Schema | undefined
  readonly responses: Readonly<Record<number, ResponseDoc>>
  readonly lifespans: ReadonlySet<Lifespan<unknown>>
  readonly fallback: FallbackSpec | undefined
  handler(input: ErasedInput): unknown
}

/** A handler's input once the types have done their work. */
export interface ErasedInput {
  readonly params: unknown
  readonly query: unknown
  readonly headers: unknown
  readonly body: unknown
  readonly deps: Record<string, unknown>
  readonly scope: RequestScope
}

export function toHonoPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1')
}

export function route<
  const P extends Schema | undefined = undefined,
  const Q extends Schema | undefined = undefined,
  const H extends Schema | undefined = undefined,
  const B extends BodySpec | undefined = undefined,
  const D extends DependencyMap = Record<never, never>,
  const R extends Schema | undefined = undefined,
>(definition: RouteDefinition<P, Q, H, B, D, R>): Route {
  const dependencies: DependencyMap = definition.dependencies ?? {}
  if (definition.fallback && definition.method !== 'GET') {
    throw new Error(`${definition.method} ${definition.path}: only a GET may be answered from a cache`)
  }
  // A cycle in the dependency graph fails here, when the module defining the route loads.
  const authority = definition.fallback?.authority
  const { lifespans } = analyze(authority ? { ...dependencies, authority } : dependencies)
  return {
    method: definition.method,
    path: definition.path,
    honoPath: toHonoPath(definition.path),
    key: `${definition.method} ${definition.path}`,
    status: definition.status ?? 200,
    summary: definition.summary,
    description: definition.description,
    tags: definition.tags ?? [],
    params: definition.params,
    query: definition.query,
    headers: definition.headers,
    body: definition.body,
    dependencies,
    response: definition.response,
    responses: definition.responses ?? {},
    lifespans,
    fallback: definition.fallback,
    handler: definition.handler,
  }
}
