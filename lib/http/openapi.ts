/**
 * The OpenAPI 3.1 document of a set of routes, from the same definitions that serve them:
 * parameters from the path, query and header schemas, the request body by its kind, the
 * success response from the response schema, and FastAPI's 422 shape for every route that
 * validates anything. Schemas are converted by @valibot/to-json-schema; a value that travels
 * as text but means a number (`intParam`) says so through its `describedAs` metadata.
 */
import { toJsonSchema, type ConversionConfig } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { analyze, type SecurityScheme } from './depends.ts'
import type { RouteInfo } from './routes-info.ts'

type JsonObject = Record<string, unknown>

function describedSchema(schema: unknown): JsonObject | undefined {
  const pipe = (schema as { pipe?: readonly { kind?: string; metadata?: { jsonSchema?: JsonObject } }[] }).pipe
  return pipe?.find((item) => item.kind === 'metadata' && item.metadata?.jsonSchema)?.metadata?.jsonSchema
}

const conversion = (typeMode: 'input' | 'output'): ConversionConfig => ({ target: 'draft-2020-12', typeMode, errorMode: 'ignore' })

/** The converter copies metadata into the schema; a `jsonSchema` entry stands for the whole. */
function applyDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(applyDescriptions)
  if (typeof node !== 'object' || node === null) return node
  if ('jsonSchema' in node) return (node as { jsonSchema: unknown }).jsonSchema
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, applyDescriptions(value)]))
}

function jsonSchema(schema: v.GenericSchema, typeMode: 'input' | 'output'): JsonObject {
  // Text parameters stop converting at their first transform; their description comes after it.
  const described = describedSchema(schema)
  if (described) return described
  const { $schema: _ignored, ...rest } = applyDescriptions(toJsonSchema(schema, conversion(typeMode))) as JsonObject
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
function parameterSchema(entry: v.GenericSchema): JsonObject {
  if (!isOptional(entry)) return jsonSchema(entry, 'input')
  const wrapped = (entry as unknown as { wrapped: v.GenericSchema }).wrapped
  const schema = { ...jsonSchema(wrapped, 'input') }
  const fallback: unknown = v.getDefault(entry as v.OptionalSchema<v.GenericSchema, unknown>)
  if (fallback !== undefined) {
    const parsed = v.safeParse(wrapped, fallback)
    if (parsed.success) schema.default = parsed.output
  }
  return schema
}

function parameters(route: RouteInfo): JsonObject[] {
  const list: JsonObject[] = []
  const add = (location: 'path' | 'query' | 'header', schema: v.GenericSchema | undefined) => {
    for (const [name, entry] of entriesOf(schema)) {
      const required = location === 'path' || !isOptional(entry)
      list.push({ name, in: location, required, schema: parameterSchema(entry) })
    }
  }
  add('path', route.validation?.param)
  add('query', route.validation?.query)
  add('header', route.validation?.header)
  return list
}

function requestBody(route: RouteInfo): JsonObject | undefined {
  const body = route.body
  if (body === undefined) return undefined
  if (body.kind === 'bytes') {
    return {
      required: true,
      content: Object.fromEntries(body.types.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
    }
  }
  const schema = jsonSchema(body.schema, 'input')
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

function responses(route: RouteInfo): JsonObject {
  const success: JsonObject = { description: route.status === 204 ? 'No Content' : 'Successful Response' }
  if (route.response !== undefined && route.status !== 204) {
    success.content = { 'application/json': { schema: jsonSchema(route.response, 'output') } }
  }
  const out: JsonObject = { [String(route.status)]: success }
  for (const [status, doc] of Object.entries(route.responses)) {
    out[status] = doc.schema
      ? { description: doc.description, content: { [doc.contentType ?? 'application/json']: { schema: jsonSchema(doc.schema, 'output') } } }
      : { description: doc.description }
  }
  const validation = route.validation
  if (validation && (validation.param || validation.query || validation.header || route.body)) {
    out['422'] = {
      description: 'Validation Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/HTTPValidationError' } } },
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

export function openApiDocument(routes: readonly RouteInfo[], info: ApiInfo): JsonObject {
  const paths: Record<string, JsonObject> = {}
  const securitySchemes: Record<string, unknown> = {}
  for (const item of routes) {
    if (item.hidden) continue
    const operation: JsonObject = {
      operationId: `${item.method.toLowerCase()}${item.path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      responses: responses(item),
    }
    if (item.summary) operation.summary = item.summary
    if (item.description) operation.description = item.description
    if (item.tags.length > 0) operation.tags = [...item.tags]
    const params = parameters(item)
    if (params.length > 0) operation.parameters = params
    const body = requestBody(item)
    if (body) operation.requestBody = body
    const security = securityOf(item)
    if (security.length > 0) operation.security = security.map((each) => ({ [each.name]: [] }))
    for (const each of security) securitySchemes[each.name] = each.scheme
    paths[item.path] = { ...paths[item.path], [item.method.toLowerCase()]: operation }
  }
  const components = Object.keys(securitySchemes).length > 0 ? { schemas: VALIDATION_ERROR, securitySchemes } : { schemas: VALIDATION_ERROR }
  return { openapi: '3.1.0', info, paths, components }
}
