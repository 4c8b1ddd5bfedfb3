/**
 * The OpenAPI 3.1 document of a set of routes, from the same definitions that serve them:
 * parameters from the path, query and header schemas, the request body by its kind, the
 * success response from the response schema, every other answer a route declares with its
 * body and headers, the body errors and FastAPI's 422 for routes that read a body or
 * validate anything, and the security schemes their dependencies read.
 *
 * Schemas are converted by @valibot/to-json-schema; one with a `v.title()` in its pipe is a
 * named component (`#/components/schemas/User`), referenced wherever it is used. A value that
 * travels as text but means a number (`intParam`) says so through its `describedAs` metadata.
 */
import { toJsonSchema, type ConversionConfig } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { analyze, type SecurityScheme } from './depends.ts'
import { HTTPError } from './error-body.ts'
import type { HeaderDoc, ResponseDoc } from './declarations.ts'
import type { RouteInfo } from './routes-info.ts'

type JsonObject = Record<string, unknown>

function describedSchema(schema: unknown): JsonObject | undefined {
  const pipe = (schema as { pipe?: readonly { kind?: string; metadata?: { jsonSchema?: JsonObject } }[] }).pipe
  return pipe?.find((item) => item.kind === 'metadata' && item.metadata?.jsonSchema)?.metadata?.jsonSchema
}

type TypeMode = 'input' | 'output'

/** Schemas named by a `v.title()` in their pipe, by name: the document's components. */
type Named = Map<string, { readonly schema: v.GenericSchema; readonly mode: TypeMode }>

const COMPONENTS = '#/components/schemas/'

/** The converter copies metadata into the schema; a `jsonSchema` entry stands for the whole. */
function applyDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(applyDescriptions)
  if (typeof node !== 'object' || node === null) return node
  if ('jsonSchema' in node) return (node as { jsonSchema: unknown }).jsonSchema
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, key === '$ref' && typeof value === 'string' ? value.replace('#/$defs/', COMPONENTS) : applyDescriptions(value)]),
  )
}

function titleOf(schema: v.GenericSchema): string | undefined {
  const pipe = (schema as { pipe?: readonly { type?: string; title?: string }[] }).pipe
  return pipe?.find((item) => item.type === 'title')?.title
}

/** Walks a schema for the named schemas in it (object entries, array items, wrapped and union options). */
function collectNamed(schema: v.GenericSchema | undefined, mode: TypeMode, into: Named): void {
  if (schema === undefined) return
  const name = titleOf(schema)
  if (name !== undefined) {
    const known = into.get(name)
    if (known?.schema === schema) return
    if (known) throw new Error(`two different schemas are titled ${name}: an OpenAPI component name must be unique`)
    into.set(name, { schema, mode })
  }
  const node = schema as { entries?: Record<string, v.GenericSchema>; item?: v.GenericSchema; wrapped?: v.GenericSchema; options?: readonly unknown[] }
  for (const child of Object.values(node.entries ?? {})) collectNamed(child, mode, into)
  collectNamed(node.item, mode, into)
  collectNamed(node.wrapped, mode, into)
  for (const option of node.options ?? []) if (typeof option === 'object' && option !== null && 'kind' in option) collectNamed(option as v.GenericSchema, mode, into)
}

function jsonSchema(schema: v.GenericSchema, typeMode: TypeMode, named: Named, self?: string): JsonObject {
  // Text parameters stop converting at their first transform; their description comes after it.
  const described = describedSchema(schema)
  if (described) return described
  const definitions: Record<string, v.GenericSchema> = {}
  for (const [name, item] of named) if (name !== self) definitions[name] = item.schema
  const config: ConversionConfig = { target: 'draft-2020-12', typeMode, errorMode: 'ignore', definitions }
  const { $schema: _ignored, $defs: _defs, ...rest } = applyDescriptions(toJsonSchema(schema, config)) as JsonObject
  return rest
}

function entriesOf(schema: v.GenericSchema | undefined): [string, v.GenericSchema][] {
  const entries = (schema as { entries?: Record<string, v.GenericSchema> } | undefined)?.entries
  return entries ? Object.entries(entries) : []
}

function isOptional(schema: v.GenericSchema): boolean {
  return schema.type === 'optional' || schema.type === 'nullish' || schema.type === 'exact_optional'
}

/**
 * A parameter's schema: an optional one is described by what it wraps (so that an optional
 * `intParam` is still an integer, with its bounds), with its default as the value it stands
 * for (the text `'1'` of `v.optional(intParam(), '1')` is the integer 1).
 */
function parameterSchema(entry: v.GenericSchema, named: Named): JsonObject {
  if (!isOptional(entry)) return jsonSchema(entry, 'input', named)
  const wrapped = (entry as unknown as { wrapped: v.GenericSchema }).wrapped
  const schema = { ...jsonSchema(wrapped, 'input', named) }
  const fallback: unknown = v.getDefault(entry as v.OptionalSchema<v.GenericSchema, unknown>)
  if (fallback !== undefined) {
    const parsed = v.safeParse(wrapped, fallback)
    if (parsed.success) schema.default = parsed.output
  }
  return schema
}

function parameters(route: RouteInfo, named: Named): JsonObject[] {
  const list: JsonObject[] = []
  const add = (location: 'path' | 'query' | 'header', schema: v.GenericSchema | undefined) => {
    for (const [name, entry] of entriesOf(schema)) {
      const required = location === 'path' || !isOptional(entry)
      list.push({ name, in: location, required, schema: parameterSchema(entry, named) })
    }
  }
  add('path', route.validation?.param)
  add('query', route.validation?.query)
  add('header', route.validation?.header)
  return list
}

/** Bytes of the given media types: OpenAPI 3.1's `contentMediaType`, with 3.0's `format: binary` for the tools that read that. */
function binaryContent(types: readonly string[]): JsonObject {
  return Object.fromEntries(types.map((type) => [type, { schema: { type: 'string', format: 'binary', contentMediaType: type } }]))
}

function requestBody(route: RouteInfo, named: Named): JsonObject | undefined {
  const body = route.body
  if (body === undefined) return undefined
  if (body.kind === 'bytes') return { required: true, content: binaryContent(body.types) }
  const schema = jsonSchema(body.schema, 'input', named)
  const types = body.kind === 'json' ? ['application/json'] : ['application/x-www-form-urlencoded', 'multipart/form-data']
  return { required: true, content: Object.fromEntries(types.map((type) => [type, { schema }])) }
}

const VALIDATION_ERROR = {
  HTTPValidationError: {
    type: 'object',
    title: 'HTTPValidationError',
    properties: { detail: { type: 'array', items: { $ref: '#/components/schemas/ValidationError' } } },
  },
  ValidationError: {
    type: 'object',
    title: 'ValidationError',
    required: ['loc', 'msg', 'type'],
    properties: {
      loc: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
      msg: { type: 'string' },
      type: { type: 'string' },
    },
  },
}

/** What a stale answer (`staleFallback`) adds to a 200: RFC 9111's `Age` and RFC 9211's `Cache-Status`. */
const STALE_HEADERS: Record<string, HeaderDoc> = {
  Age: {
    description: 'Only on an answer served from the stale cache while the database is out: seconds since it was made',
    schema: { type: 'integer', minimum: 0 },
  },
  'Cache-Status': {
    description: 'Only on an answer served from the stale cache: RFC 9211, a hit with a ttl of zero or less, e.g. `users-api; hit; ttl=-12`',
    schema: { type: 'string' },
  },
}

function headersOf(docs: Readonly<Record<string, HeaderDoc>>): JsonObject {
  return Object.fromEntries(
    Object.entries(docs).map(([name, doc]) => [name, { description: doc.description, ...(doc.required ? { required: true } : {}), schema: doc.schema }]),
  )
}

function responseOf(doc: ResponseDoc, named: Named): JsonObject {
  const out: JsonObject = { description: doc.description }
  if (doc.schema) out.content = { 'application/json': { schema: jsonSchema(doc.schema, 'output', named) } }
  else if (doc.mediaTypes) out.content = binaryContent(doc.mediaTypes)
  if (doc.headers && Object.keys(doc.headers).length > 0) out.headers = headersOf(doc.headers)
  return out
}

/** What reading a route's body may answer before the route runs (body.ts), unless the route says it otherwise. */
function bodyErrors(route: RouteInfo): [string, ResponseDoc][] {
  const body = route.body
  if (body === undefined) return []
  const errors: [string, ResponseDoc][] = []
  if (body.kind !== 'bytes') errors.push(['400', { description: 'A body that cannot be read (broken multipart, bad encoding)', schema: HTTPError }])
  errors.push(['413', { description: 'A body larger than the route takes', schema: HTTPError }])
  errors.push(['415', { description: 'A body of a media type the route does not take', schema: HTTPError }])
  return errors
}

function responses(route: RouteInfo, named: Named): JsonObject {
  const declared = route.responses[route.status]
  const schema = route.status === 204 ? undefined : (route.response ?? declared?.schema)
  const success: ResponseDoc = {
    description: declared?.description ?? (route.status === 204 ? 'No Content' : 'Successful Response'),
    ...(schema ? { schema } : {}),
    ...(declared?.mediaTypes ? { mediaTypes: declared.mediaTypes } : {}),
    headers: { ...declared?.headers, ...(route.fallback ? STALE_HEADERS : {}) },
  }
  const out: JsonObject = { [String(route.status)]: responseOf(success, named) }
  for (const [status, doc] of Object.entries(route.responses)) if (Number(status) !== route.status) out[status] = responseOf(doc, named)
  for (const [status, doc] of bodyErrors(route)) out[status] ??= responseOf(doc, named)
  const validation = route.validation
  if (validation && (validation.param || validation.query || validation.header || route.body)) {
    out['422'] = {
      description: 'Validation Error',
      content: { 'application/json': { schema: { $ref: `${COMPONENTS}HTTPValidationError` } } },
    }
  }
  return out
}

export interface ApiInfo {
  readonly title: string
  readonly version: string
  readonly description?: string
}

/** The credentials a route's dependencies read, directly or through others. */
function securityOf(route: RouteInfo): SecurityScheme[] {
  const found = new Map<string, SecurityScheme>()
  for (const dependency of analyze(route.dependencies).dependencies) if (dependency.security) found.set(dependency.security.name, dependency.security)
  return [...found.values()]
}

/** The named schemas of the routes the document lists, each converted as its first use reads it. */
function namedSchemas(routes: readonly RouteInfo[]): Named {
  const named: Named = new Map()
  for (const item of routes) {
    for (const [, entry] of [...entriesOf(item.validation?.param), ...entriesOf(item.validation?.query), ...entriesOf(item.validation?.header)]) collectNamed(entry, 'input', named)
    if (item.body?.kind !== 'bytes') collectNamed(item.body?.schema, 'input', named)
    collectNamed(item.response, 'output', named)
    if (item.body) collectNamed(HTTPError, 'output', named)
    for (const doc of Object.values(item.responses)) collectNamed(doc.schema, 'output', named)
  }
  return named
}

export function openApiDocument(routes: readonly RouteInfo[], info: ApiInfo): JsonObject {
  const listed = routes.filter((item) => !item.hidden)
  const named = namedSchemas(listed)
  const schemas: Record<string, unknown> = {}
  for (const [name, { schema, mode }] of [...named].sort(([a], [b]) => a.localeCompare(b))) schemas[name] = jsonSchema(schema, mode, named, name)
  Object.assign(schemas, VALIDATION_ERROR)
  const paths: Record<string, JsonObject> = {}
  const securitySchemes: Record<string, unknown> = {}
  for (const item of listed) {
    const operation: JsonObject = {
      operationId: `${item.method.toLowerCase()}${item.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      responses: responses(item, named),
    }
    if (item.summary) operation.summary = item.summary
    if (item.description) operation.description = item.description
    if (item.tags.length > 0) operation.tags = [...item.tags]
    const params = parameters(item, named)
    if (params.length > 0) operation.parameters = params
    const body = requestBody(item, named)
    if (body) operation.requestBody = body
    const security = securityOf(item)
    if (security.length > 0) operation.security = security.map((each) => ({ [each.name]: [] }))
    for (const each of security) securitySchemes[each.name] = each.scheme
    paths[item.path] = { ...paths[item.path], [item.method.toLowerCase()]: operation }
  }
  const components = Object.keys(securitySchemes).length > 0 ? { schemas, securitySchemes } : { schemas }
  return { openapi: '3.1.0', info, paths, components }
}
