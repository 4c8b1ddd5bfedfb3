/**
 * Reads a request body by the kind a route declares, as FastAPI does before it validates:
 * JSON (and an absent content type is read as JSON too), a form (urlencoded or multipart),
 * or raw bytes of allowed media types. Size is bounded (413) before and while reading; a
 * media type the route does not take is 415; bytes that cannot be read are 400; JSON that
 * does not parse is a 422 `json_invalid` at the offset where it broke.
 */
import type { GenericSchema } from 'valibot'
import { HttpError, RequestValidationError, unreadableBody } from './errors.ts'

/** 1 MiB: ample for JSON and forms, and well under API Gateway's 10 MB payload limit. */
export const DEFAULT_MAX_BYTES = 1024 * 1024

export type BodySpec =
  | { readonly kind: 'json'; readonly schema: GenericSchema; readonly maxBytes?: number }
  | { readonly kind: 'form'; readonly schema: GenericSchema; readonly maxBytes?: number }
  | { readonly kind: 'bytes'; readonly types: readonly string[]; readonly maxBytes: number }

export interface RawBody {
  readonly bytes: Uint8Array<ArrayBuffer>
  readonly contentType: string
}

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data']

function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
}

/** `type/subtype`, each an RFC 9110 token: what a Content-Type must start with. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/

/** Starlette's limits on a multipart body, with its answers. */
const MAX_PARTS = 1000

function isJson(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `Request body too large: at most ${maxBytes} bytes`)
}

function unsupported(expected: readonly string[]): HttpError {
  return new HttpError(415, `Unsupported Media Type: expected ${expected.join(' or ')}`)
}

/** Where a body comes from (Hono's request: its headers and its bytes, read once). */
export interface BodySource {
  readonly contentType: string | null
  readonly contentLength: string | null
  bytes(): Promise<Uint8Array<ArrayBuffer>>
}

async function readBytes(source: BodySource, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = Number(source.contentLength ?? NaN)
  if (declared > maxBytes) throw tooLarge(maxBytes)
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = await source.bytes()
  } catch {
    throw unreadableBody()
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes)
  return bytes
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw unreadableBody()
  }
}

async function parseJson(bytes: Uint8Array): Promise<unknown> {
  const text = decodeText(bytes)
  try {
    return JSON.parse(text)
  } catch {
    // Where it broke is found by a scanner that loads with the first malformed body.
    const error = (await import('./json-error.ts')).findJsonSyntaxError(text)
    throw new RequestValidationError([
      { loc: ['body', error?.offset ?? 0], msg: 'JSON decode error', type: 'json_invalid', ctx: { error: error?.message ?? 'Expecting value' } },
    ])
  }
}

/** Form fields as an object; a repeated field keeps its last value, as Starlette's does. */
async function parseForm(bytes: Uint8Array<ArrayBuffer>, contentType: string, type: string): Promise<Record<string, unknown>> {
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(decodeText(bytes)))
  }
  let form: FormData
  try {
    form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData()
  } catch {
    throw unreadableBody()
  }
  const fields: Record<string, unknown> = {}
  let files = 0
  let plain = 0
  form.forEach((value, key) => {
    if (typeof value === 'string') plain++
    else files++
    fields[key] = value
  })
  if (plain > MAX_PARTS) throw new HttpError(400, `Too many fields. Maximum number of fields is ${MAX_PARTS}.`)
  if (files > MAX_PARTS) throw new HttpError(400, `Too many files. Maximum number of files is ${MAX_PARTS}.`)
  return fields
}

/** The body as the route's kind reads it; `undefined` for a JSON route sent no body. */
export async function readBody(source: BodySource, spec: BodySpec): Promise<unknown> {
  const contentType = source.contentType ?? ''
  const type = mediaType(contentType)
  // A Content-Type that names no media type (`;;;`) is refused, not read as an absent one.
  if (contentType.trim() !== '' && !MEDIA_TYPE.test(type)) throw unsupported(spec.kind === 'bytes' ? spec.types : spec.kind === 'json' ? ['application/json'] : FORM_TYPES)
  if (spec.kind === 'bytes') {
    if (!spec.types.includes(type)) throw unsupported(spec.types)
    return { bytes: await readBytes(source, spec.maxBytes), contentType: type } satisfies RawBody
  }
  if (spec.kind === 'json' && type !== '' && !isJson(type)) throw unsupported(['application/json'])
  if (spec.kind === 'form' && type !== '' && !FORM_TYPES.includes(type)) throw unsupported(FORM_TYPES)
  const bytes = await readBytes(source, spec.maxBytes ?? DEFAULT_MAX_BYTES)
  if (spec.kind === 'json') return bytes.length === 0 ? undefined : parseJson(bytes)
  if (bytes.length === 0) return {}
  // No content type on a form route: there is nothing we can parse the bytes as.
  if (type === '') throw unsupported(FORM_TYPES)
  return parseForm(bytes, contentType, type)
}
