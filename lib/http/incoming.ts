/**
 * The two ways a request reaches the pipeline: through Hono (the dev server, the edge, and
 * any request a function's own route does not take), or straight from a Lambda event of the
 * route the function serves, where building web `Request` and `Response` objects would cost
 * more than the rest of the work.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import type { Context } from 'hono'
import { decodeBase64 } from 'hono/utils/encode'
import { requestBody, type BodySource } from './body.ts'
import { queryFromString, type IncomingRequest, type LambdaInvocation } from './pipeline.ts'

/** What hono/aws-lambda passes as Hono's env. */
export interface LambdaBindings {
  readonly lambdaContext?: LambdaInvocation
  readonly requestContext?: { readonly requestId?: string }
}

export interface AppEnv {
  Bindings: LambdaBindings
}

function executionContextOf(c: Context): { waitUntil(promise: Promise<unknown>): void } | undefined {
  try {
    return c.executionCtx
  } catch {
    return undefined // Node's server has none.
  }
}

export function fromHono(c: Context<AppEnv>): IncomingRequest {
  const raw = c.req.raw
  // Once the pipeline has read the body, the raw request's stream is spent: the request
  // handed to user code is remade around the bytes read (Starlette keeps them likewise).
  let read: Uint8Array<ArrayBuffer> | undefined
  let remade: Request | undefined
  const source = requestBody(raw)
  return {
    method: c.req.method,
    path: c.req.path,
    param: (name) => c.req.param(name),
    allParams: () => c.req.param(),
    query: () => {
      const at = raw.url.indexOf('?')
      return at === -1 ? {} : queryFromString(raw.url.slice(at + 1))
    },
    header: (name) => raw.headers.get(name) ?? undefined,
    allHeaders: () => Object.fromEntries(raw.headers),
    body: {
      ...source,
      bytes: async () => (read = await source.bytes()),
    },
    webRequest: () => (read === undefined ? raw : (remade ??= new Request(raw.url, { method: raw.method, headers: raw.headers, body: read }))),
    lambda: c.env?.lambdaContext,
    gatewayRequestId: c.env?.requestContext?.requestId,
    waitUntil(work) {
      const runtime = executionContextOf(c)
      runtime?.waitUntil(work)
      return runtime !== undefined
    },
  }
}

const encoder = new TextEncoder()

function eventBytes(event: APIGatewayProxyEventV2): Uint8Array<ArrayBuffer> {
  if (event.body === undefined || event.body === '') return new Uint8Array(0)
  return event.isBase64Encoded ? decodeBase64(event.body) : encoder.encode(event.body)
}

export interface EventRoute {
  /** Matches the route's path and captures its parameters: `/users/{id}` as `^/users/(?<id>[^/]+)$`. */
  readonly pattern: RegExp
}

export function pathPattern(path: string): RegExp {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, '(?<$1>[^/]+)')
  return new RegExp(`^${source}$`)
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** A request of API Gateway's HTTP API (payload 2.0), read where it lies in the event. */
export function fromLambdaEvent(
  event: APIGatewayProxyEventV2,
  lambda: LambdaInvocation,
  route: EventRoute,
  waitUntil: (work: Promise<void>) => void,
): IncomingRequest {
  const headers = event.headers ?? {}
  let params: Record<string, string> | undefined
  const allParams = () => {
    if (params === undefined) {
      // As Hono reads them: from the raw path, each segment decoded once.
      const groups = route.pattern.exec(event.rawPath)?.groups
      params = {}
      if (groups) for (const name in groups) params[name] = decode(groups[name] as string)
      else Object.assign(params, event.pathParameters)
    }
    return params
  }
  let request: Request | undefined
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    param: (name) => allParams()[name],
    allParams,
    query: () => queryFromString(event.rawQueryString ?? ''),
    // Payload 2.0 carries cookies apart from the headers; they are read as one Cookie header.
    header: (name) => (name === 'cookie' && event.cookies?.length ? event.cookies.join('; ') : headers[name]),
    allHeaders: () => {
      const all: Record<string, string> = {}
      for (const name in headers) if (headers[name] !== undefined) all[name] = headers[name] as string
      if (event.cookies?.length) all.cookie = event.cookies.join('; ')
      return all
    },
    body: {
      contentType: headers['content-type'] ?? null,
      contentLength: headers['content-length'] ?? null,
      bytes: async () => eventBytes(event),
    } satisfies BodySource,
    webRequest() {
      if (request === undefined) {
        const init: RequestInit = { method: event.requestContext.http.method, headers: new Headers() }
        const requestHeaders = init.headers as Headers
        for (const name in headers) if (headers[name] !== undefined) requestHeaders.set(name, headers[name] as string)
        if (event.cookies?.length) requestHeaders.set('cookie', event.cookies.join('; '))
        if (init.method !== 'GET' && init.method !== 'HEAD' && event.body) init.body = eventBytes(event)
        const query = event.rawQueryString ? `?${event.rawQueryString}` : ''
        request = new Request(`https://${event.requestContext.domainName}${event.rawPath}${query}`, init)
      }
      return request
    },
    lambda,
    gatewayRequestId: event.requestContext.requestId,
    waitUntil(work) {
      waitUntil(work)
      return true
    },
  }
}
