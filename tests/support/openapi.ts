/**
 * Real answers checked against the OpenAPI document the API serves: the document itself is
 * valid OpenAPI 3.1 (@seriousme/openapi-schema-validator), and each answer's status, media
 * type, JSON body (Ajv, JSON Schema 2020-12 with formats) and headers are what the document
 * says of its operation.
 */
import assert from 'node:assert/strict'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { pathPattern } from '../../lib/http/routes-info.ts'
import type { Answer } from './gateway.ts'

type JsonObject = Record<string, unknown>

interface HeaderSpec {
  readonly required?: boolean
  readonly schema: JsonObject
}

interface ResponseSpec {
  readonly content?: Record<string, { readonly schema?: JsonObject }>
  readonly headers?: Record<string, HeaderSpec>
}

interface Operation {
  readonly responses: Record<string, ResponseSpec>
}

export interface OpenApiDocument {
  readonly openapi: string
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: JsonObject
}

/** What was checked: one entry per answer, by operation (`GET /users/{id}`) and status. */
export interface Checked {
  readonly operation: string
  readonly status: number
}

/** The headers ../shared/API.md gives answers: where one is sent, the document must say so. */
const CONTRACT_HEADERS = ['age', 'cache-status', 'retry-after', 'location', 'www-authenticate']

const pointer = (...parts: string[]) => parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')

export interface DocumentCheck {
  /** The documented operation a request is for, or undefined for a path or method the document has not. */
  operationOf(method: string, path: string): string | undefined
  /** Fails, saying what differs, unless the answer is one the document lists for the operation. */
  check(method: string, path: string, answer: Answer): Checked
}

export async function documentCheck(document: OpenApiDocument): Promise<DocumentCheck> {
  const verdict = await new Validator().validate(structuredClone(document) as unknown as Parameters<Validator["validate"]>[0])
  assert.ok(verdict.valid, `the document is not valid OpenAPI ${document.openapi}: ${JSON.stringify(verdict.errors)}`)
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(document as object, 'openapi')
  const routes = Object.keys(document.paths).map((path) => ({ path, match: pathPattern(path) }))

  const operationOf = (method: string, path: string) => {
    const found = routes.find((route) => route.match.test(path) && document.paths[route.path]?.[method.toLowerCase()] !== undefined)
    return found && `${method} ${found.path}`
  }

  function check(method: string, path: string, answer: Answer): Checked {
    const operation = operationOf(method, path)
    assert.ok(operation, `${method} ${path} is not in the document`)
    const template = operation.slice(method.length + 1)
    const what = `${operation} answered ${answer.status}`
    const response = document.paths[template]?.[method.toLowerCase()]?.responses[String(answer.status)]
    assert.ok(response, `${what}, which the document does not list (${answer.text.slice(0, 200)})`)
    const base = ['openapi#', 'paths', template, method.toLowerCase(), 'responses', String(answer.status)]
    const type = (answer.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
    if (response.content === undefined) {
      assert.equal(answer.bytes.length, 0, `${what} with a body, where the document lists none`)
    } else {
      const media = response.content[type]
      assert.ok(media, `${what} as ${type || 'no media type'}, where the document lists ${Object.keys(response.content).join(', ')}`)
      if (type === 'application/json') {
        const validate = ajv.getSchema(`${base[0]}/${pointer(...base.slice(1), 'content', type, 'schema')}`)
        assert.ok(validate, `${what}: no schema for ${type}`)
        assert.ok(validate(answer.json()), `${what} with a body the document does not allow: ${ajv.errorsText(validate.errors)} in ${answer.text.slice(0, 300)}`)
      }
    }
    for (const [name, spec] of Object.entries(response.headers ?? {})) {
      const value = answer.headers[name.toLowerCase()]
      if (value === undefined) {
        assert.ok(!spec.required, `${what} without its ${name} header`)
        continue
      }
      const validate = ajv.getSchema(`${base[0]}/${pointer(...base.slice(1), 'headers', name, 'schema')}`)
      assert.ok(validate, `${what}: no schema for the ${name} header`)
      // A header is text; a number the document declares is checked as the number it writes.
      const typed = spec.schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value
      assert.ok(validate(typed), `${what} with ${name}: ${value}, which the document does not allow: ${ajv.errorsText(validate.errors)}`)
    }
    for (const name of CONTRACT_HEADERS) {
      const documented = Object.keys(response.headers ?? {}).some((item) => item.toLowerCase() === name)
      assert.ok(answer.headers[name] === undefined || documented, `${what} with a ${name} header the document does not list`)
    }
    return { operation, status: answer.status }
  }

  return { operationOf, check }
}
