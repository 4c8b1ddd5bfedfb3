/**
 * API Gateway payload 2.0 events (HTTP APIs, Function URLs) read as hono/aws-lambda's
 * EventV2Processor reads them, and answers written as it writes them, without what costs most
 * on Node: a web `Request`, and the `Headers` of its event, are made only when code asks for
 * more of the request than its URL, method, header values and body (Hono's routing,
 * parameters, headers and body readers need none); the text of an answer the toolkit wrote is
 * sent as it is, not read back from the `Response`'s stream, and a response model's answer
 * gets no stream at all unless code asks for its body. tests/http/events.test.ts checks them
 * against hono/aws-lambda.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { decodeBase64, encodeBase64 } from 'hono/utils/encode'

/** The text of a `Response` the toolkit made (errors, `respond()`), kept on it. */
export const BODY_TEXT = Symbol('body text')

/** Keeps a Response's text on it, so the Lambda adapter need not read the stream back. */
export function withText(response: Response, text: string | null): Response {
  return Object.assign(response, { [BODY_TEXT]: text ?? '' })
}

/** The text kept on a Response with `withText`; undefined for any other. */
export function keptText(response: Response): string | undefined {
  return (response as { [BODY_TEXT]?: string })[BODY_TEXT]
}

/**
 * Whether an answer of this type goes out base64-encoded: hono/aws-lambda's
 * `defaultIsContentTypeBinary`, restated so that its adapter (loaded only for other payloads)
 * stays out of the bundle's start; tests/http/events.test.ts checks the two agree.
 */
export function isBinaryContentType(contentType: string): boolean {
  if (/^application\/vnd\.(?:apple\.installer|mozilla\.xul)\+xml\s*(?:;|$)/i.test(contentType)) return true
  return !/^text\/(?:plain|html|css|javascript|csv)|(?:\/|\+)(?:json|xml)\s*(?:;|$)/i.test(contentType)
}

/** Whether hono/aws-lambda would read the event as payload 2.0 (its own test). */
export function isPayloadV2(event: object): event is APIGatewayProxyEventV2 {
  return Object.hasOwn(event, 'rawPath') && Object.hasOwn((event as { requestContext?: object }).requestContext ?? {}, 'http')
}

/** As hono/aws-lambda: a header value with non-ASCII characters is percent-encoded. */
function sanitized(value: string): string {
  // eslint-disable-next-line no-control-regex -- the ASCII range is the test, as hono/aws-lambda's
  return /[^\x00-\x7F]/.test(value) ? encodeURIComponent(value) : value
}

const REAL = Symbol('real request or response')
const SHELL = Symbol('body-less response')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * A stand-in's getters and methods that the object `this[source]()` answers (the real
 * Request, Response or Headers, made once, or the Response Hono made): code that asks a
 * stand-in for more than it knows gets what the real object says.
 */
function forward(prototype: object, source: symbol, getters: readonly string[], methods: readonly (string | symbol)[] = []): void {
  const target = (self: object) => (self as Record<symbol, () => object>)[source]!()
  for (const name of getters) {
    Object.defineProperty(prototype, name, {
      get() {
        return Reflect.get(target(this), name)
      },
    })
  }
  for (const name of methods) {
    Object.defineProperty(prototype, name, {
      value(...args: unknown[]) {
        const real = target(this)
        return (Reflect.get(real, name) as (...args: unknown[]) => unknown).apply(real, args)
      },
    })
  }
}

/**
 * A `Request` (it is one, by prototype) of a payload-2.0 event: URL, method, headers and body
 * are read from the event; anything else makes the real Request, once, and asks it.
 */
class EventRequest {
  readonly url: string
  readonly method: string
  readonly headers: Headers
  readonly #body: Uint8Array<ArrayBuffer> | undefined
  #real: Request | undefined

  constructor(url: string, method: string, headers: Headers, body: Uint8Array<ArrayBuffer> | undefined) {
    this.url = url
    this.method = method
    this.headers = headers
    this.#body = body
  }

  [REAL](): Request {
    return (this.#real ??= new Request(this.url, { method: this.method, headers: this.headers, ...(this.#body ? { body: this.#body } : {}) }))
  }

  // Hono reads bodies with these (and keeps what it read); they need no Request while the
  // body is the event's and has not been handed out as a stream.
  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#real) return this.#real.arrayBuffer()
    return Promise.resolve(this.#body ? this.#body.slice().buffer : new ArrayBuffer(0))
  }

  text(): Promise<string> {
    if (this.#real) return this.#real.text()
    return Promise.resolve(this.#body ? decoder.decode(this.#body) : '')
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
}

forward(
  EventRequest.prototype,
  REAL,
  ['body', 'bodyUsed', 'cache', 'credentials', 'destination', 'integrity', 'mode', 'redirect', 'referrer', 'referrerPolicy', 'signal', 'keepalive', 'duplex'],
  ['blob', 'bytes', 'clone', 'formData'],
)
Object.setPrototypeOf(EventRequest.prototype, Request.prototype)

/**
 * An answer of the toolkit's text (`respond()`) to a payload-2.0 event: a `Response` by
 * prototype whose status and headers are those of the body-less Response Hono made, and whose
 * body makes the real Response, once, when code asks for it. Making a Response with a body
 * costs undici a stream (about 1.5 µs a request on Node); the Lambda adapter sends the text.
 */
class EventAnswer {
  readonly [BODY_TEXT]: string
  readonly #shell: Response
  #real: Response | undefined

  constructor(shell: Response, text: string) {
    this.#shell = shell
    this[BODY_TEXT] = text
  }

  [SHELL](): Response {
    return this.#shell
  }

  [REAL](): Response {
    return (this.#real ??= new Response(this[BODY_TEXT], this.#shell))
  }
}

forward(EventAnswer.prototype, SHELL, ['status', 'headers', 'ok', 'statusText', 'type', 'url', 'redirected'])
forward(EventAnswer.prototype, REAL, ['body', 'bodyUsed'], ['arrayBuffer', 'blob', 'bytes', 'clone', 'formData', 'json', 'text'])
Object.setPrototypeOf(EventAnswer.prototype, Response.prototype)

/**
 * Whether the Lambda adapter made the request of an event, and so reads the answer: it may
 * be an `eventAnswer` (a Worker, a Node server take only their own Responses).
 */
export function isEventRequest(request: Request): boolean {
  return request instanceof EventRequest
}

/** The answer of `text` with the status and headers of `shell`, a Response without a body. */
export function eventAnswer(shell: Response, text: string): Response {
  return new EventAnswer(shell, text) as unknown as Response
}

/** A name a Headers takes (an RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A value a Headers keeps as given: printable ASCII, no space at either end. */
const PLAIN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

/**
 * The headers of an event (a `Headers` by prototype) when every name is a token and every
 * value plain, so that none would be refused or changed: `get` and `has` read them; anything
 * else (iterating, changing) makes the real Headers, once, and asks it. Setting an event's
 * headers on a real one costs undici about 1 µs a request; Hono's readers only `get`.
 */
class EventHeaders {
  readonly #plain: Map<string, string>
  #real: Headers | undefined

  constructor(plain: Map<string, string>) {
    this.#plain = plain
  }

  get(name: string): string | null {
    if (this.#real) return this.#real.get(name)
    // A name that is no token: the real Headers' TypeError.
    return this.#plain.get(name.toLowerCase()) ?? (TOKEN.test(name) ? null : this[REAL]().get(name))
  }

  has(name: string): boolean {
    return this.get(name) !== null
  }

  [REAL](): Headers {
    if (this.#real === undefined) {
      this.#real = new Headers()
      for (const [name, value] of this.#plain) this.#real.set(name, value)
    }
    return this.#real
  }
}

forward(EventHeaders.prototype, REAL, [], ['append', 'delete', 'set', 'getSetCookie', 'keys', 'values', 'entries', 'forEach', Symbol.iterator])
// Node's inspector (console.log) reads a Headers' private state: it is shown the real one.
Object.defineProperty(EventHeaders.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: EventHeaders, _depth: number, options: unknown, inspect: (value: unknown, options: unknown) => string) {
    return inspect(this[REAL](), options)
  },
})
Object.setPrototypeOf(EventHeaders.prototype, Headers.prototype)

/** The headers of an event, as a Request would have them; throws a TypeError for one it would refuse. */
function headersOfEvent(event: APIGatewayProxyEventV2, contentLength: number | undefined): Headers {
  const cookie = Array.isArray(event.cookies) ? event.cookies.join('; ') : undefined
  const plain = new Map<string, string>()
  if (cookie !== undefined) plain.set('cookie', cookie)
  let allPlain = cookie === undefined || PLAIN.test(cookie)
  if (event.headers) {
    for (const name in event.headers) {
      const value = event.headers[name]
      if (!value) continue
      if (!PLAIN.test(value) || !TOKEN.test(name)) allPlain = false
      else plain.set(name.toLowerCase(), value)
    }
  }
  if (contentLength !== undefined) plain.set('content-length', String(contentLength))
  if (allPlain) return new EventHeaders(plain) as unknown as Headers
  // Rare (non-ASCII, a value it trims or refuses): the real Headers, made as hono/aws-lambda does.
  const headers = new Headers()
  if (cookie !== undefined) headers.set('cookie', cookie)
  if (event.headers) for (const name in event.headers) if (event.headers[name]) headers.set(name, sanitized(event.headers[name] as string))
  if (contentLength !== undefined) headers.set('content-length', String(contentLength))
  return headers
}

/** The request of a payload-2.0 event; throws a TypeError for a header a Request would refuse. */
export function requestOfEvent(event: APIGatewayProxyEventV2): Request {
  let body: Uint8Array<ArrayBuffer> | undefined
  if (event.body) body = event.isBase64Encoded ? decodeBase64(event.body) : encoder.encode(event.body)
  const headers = headersOfEvent(event, body?.length)
  const domain = event.requestContext?.domainName ?? event.headers?.host
  const url = `https://${domain}${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`
  return new EventRequest(url, event.requestContext.http.method, headers, body) as unknown as Request
}

/** The answer as API Gateway takes it (payload 2.0), as hono/aws-lambda writes it. */
export async function resultOfResponse(response: Response): Promise<APIGatewayProxyStructuredResultV2> {
  const contentType = response.headers.get('content-type')
  const encoding = response.headers.get('content-encoding')
  const binary = (contentType !== null && isBinaryContentType(contentType)) || (encoding !== null && !/^identity$/i.test(encoding))
  const kept = keptText(response)
  const body = binary ? encodeBase64(await response.arrayBuffer()) : (kept ?? (await response.text()))
  const result: APIGatewayProxyStructuredResultV2 = { body, statusCode: response.status, isBase64Encoded: binary, headers: {} }
  if (response.headers.has('set-cookie')) {
    result.cookies = response.headers.getSetCookie()
    response.headers.delete('set-cookie')
  }
  const headers = result.headers as Record<string, string>
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  return result
}
