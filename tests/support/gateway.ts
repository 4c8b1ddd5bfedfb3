/**
 * API Gateway in front of the functions, as far as tests need it: each route file is its
 * own Lambda function (its own instance, lifespans and pool), a request goes to the function
 * of the first route that matches (fixed paths are listed before parameters, as API Gateway
 * prefers them), anything else to the `$default` function, as a payload-2.0 event.
 */
import { loadFunctions } from '../../lib/functions.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { pathPattern } from '../../lib/http/routes-info.ts'
import { MANIFEST } from '../../lib/manifest.ts'
import { invoke } from './invoke.ts'

export interface CallOptions {
  readonly headers?: Record<string, string>
  readonly query?: Record<string, string>
  /** A string is sent as it is; bytes are sent base64-encoded, as API Gateway does. */
  readonly body?: string | Uint8Array
}

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly bytes: Buffer
  readonly text: string
  json(): unknown
}

export type Call = (method: string, path: string, options?: CallOptions) => Promise<Answer>

/**
 * `oneInstance`: every route in one function instead (one instance, one cache, as the dev
 * server has), for what an instance keeps and hears of by itself.
 */
export async function startGateway(env: Record<string, string>, options: { oneInstance?: boolean } = {}): Promise<{ call: Call; close(): Promise<void> }> {
  const functions: { method: string; path: string; match: RegExp; fn: LambdaFunction }[] = []
  const entries = await loadFunctions()
  const one = options.oneInstance ? await lambdaFunction(entries.map((entry) => entry.route), { env, startup: 'init' }) : undefined
  for (const entry of entries) {
    functions.push({ method: entry.method, path: entry.path, match: pathPattern(entry.path), fn: one ?? (await lambdaFunction(entry.route, { env, startup: 'init' })) })
  }
  const fallback = one ?? (await lambdaFunction([], { env, knownRoutes: MANIFEST, startup: 'init' }))

  const call: Call = async (method, path, options = {}) => {
    const target = functions.find((item) => item.method === method && item.match.test(path))
    const body = options.body
    const binary = body instanceof Uint8Array
    const result = await invoke(target?.fn.handler ?? fallback.handler, {
      method,
      route: target ? target.path : '$default',
      path,
      ...(target ? { pathParameters: target.match.exec(path)?.groups ?? {} } : {}),
      ...(options.query ? { query: options.query } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(body === undefined ? {} : { body: binary ? Buffer.from(body).toString('base64') : body, isBase64Encoded: binary }),
    })
    return { status: result.status, headers: result.headers, bytes: result.bytes, text: result.body, json: () => result.json() }
  }
  return {
    call,
    async close() {
      for (const fn of new Set([...functions.map((item) => item.fn), fallback])) await fn.shutdown()
    },
  }
}

type FetchLike = (url: URL, init: RequestInit) => Promise<{ status: number; headers: Headers; arrayBuffer(): Promise<ArrayBuffer> }>

/** The same calls over HTTP, to a server at `base` (the dev server), or to another fetch (a worker's). */
export function httpCaller(base: string, fetchImpl: FetchLike = fetch): Call {
  return async (method, path, options = {}) => {
    const url = new URL(path, base)
    for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value)
    const init: RequestInit = { method, headers: options.headers ?? {} }
    if (options.body !== undefined) init.body = typeof options.body === 'string' ? options.body : Buffer.from(options.body)
    const response = await fetchImpl(url, init)
    const bytes = Buffer.from(await response.arrayBuffer())
    const headers: Record<string, string> = {}
    response.headers.forEach((value, name) => (headers[name] = value))
    const text = bytes.toString('utf8')
    return { status: response.status, headers, bytes, text, json: () => JSON.parse(text) }
  }
}
