/**
 * What the toolkit's route middleware declare, kept on each middleware function so that the
 * app (routes-info.ts) and the OpenAPI document can read a route without running it; and
 * `describe()`, the middleware that only declares. Apart from route.ts, and free of valibot
 * at run time, so that a function that only describes itself (the docs) does not carry it.
 */
import type { MiddlewareHandler } from 'hono'
import type * as v from 'valibot'
import type { BodySpec } from './body.ts'
import type { Dependency, DependencyMap } from './depends.ts'

type Schema = v.GenericSchema

/** A header of an answer, for the OpenAPI document: its JSON Schema as written there. */
export interface HeaderDoc {
  readonly description: string
  readonly schema: Readonly<Record<string, unknown>>
  /** Sent on every answer of this status (`Location` of a 201), not only on some. */
  readonly required?: boolean
}

export interface ResponseDoc {
  readonly description: string
  /** A JSON body. */
  readonly schema?: Schema
  /** A body of bytes, of one of these media types (an image). */
  readonly mediaTypes?: readonly string[]
  readonly headers?: Readonly<Record<string, HeaderDoc>>
}

export interface RouteDoc {
  readonly summary?: string
  readonly description?: string
  readonly tags?: readonly string[]
  /** Status of a successful answer, when no `responds()` says it (204 for no content). */
  readonly status?: number
  /**
   * Other answers, for the OpenAPI document; an entry for the success status adds its
   * description and headers to what `responds()` says of the body.
   */
  readonly responses?: Readonly<Record<number, ResponseDoc>>
  /** Left out of the OpenAPI document (FastAPI's `include_in_schema=False`): the docs themselves. */
  readonly hidden?: boolean
}

/** What a request of a route must carry, by where it is (Hono's validation targets). */
export interface Validation {
  readonly param?: Schema
  readonly query?: Schema
  readonly header?: Schema
  /** A JSON body (an absent content type is read as JSON too). */
  readonly json?: Schema
  /** A form body, urlencoded or multipart. */
  readonly form?: Schema
  /** Raw bytes of the given media types: `c.var.rawBody` is `{ bytes, contentType }`. */
  readonly bytes?: { readonly types: readonly string[]; readonly maxBytes: number }
  /** Largest JSON or form body accepted (1 MiB unless said). */
  readonly maxBytes?: number
  /**
   * Text with a NUL character, which PostgreSQL cannot store, is refused with a 422 unless this
   * is set; a route that sets it must keep such text from the database itself (sign-in: no
   * such user).
   */
  readonly allowNul?: boolean
}

/** What the middleware of a route declare, read by the app and the OpenAPI document. */
export type Declaration =
  | { readonly kind: 'describe'; readonly doc: RouteDoc }
  | { readonly kind: 'needs'; readonly dependencies: DependencyMap }
  | { readonly kind: 'validate'; readonly validation: Validation; readonly body: BodySpec | undefined }
  | { readonly kind: 'responds'; readonly schema: Schema; readonly status: number }
  | { readonly kind: 'fallback'; readonly authority: Dependency<string> | undefined; readonly afterMs: number | undefined }

export const DECLARATION = Symbol.for('hono-lambda-neon-toolkit.declaration')

export function declared<M extends MiddlewareHandler>(middleware: M, declaration: Declaration): M {
  return Object.assign(middleware, { [DECLARATION]: declaration })
}

export function declarationOf(handler: unknown): Declaration | undefined {
  return (handler as { [DECLARATION]?: Declaration } | undefined)?.[DECLARATION]
}

/** The route's summary, description, tags and other answers, for the OpenAPI document. */
export function describe(doc: RouteDoc): MiddlewareHandler {
  return declared((_c, next) => next(), { kind: 'describe', doc })
}
