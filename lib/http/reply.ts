/**
 * A reply not yet turned into a web `Response`. Most answers are JSON the pipeline makes
 * itself; kept as plain data, the Lambda adapter sends them as they are, and only Hono (or a
 * handler that returns its own `Response`) pays for building a `Response` object, which on
 * Node costs more than the rest of a small request.
 */
export interface Reply {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string | null
}

export type Outcome = Reply | Response

export const JSON_TYPE = 'application/json; charset=utf-8'

export function jsonReply(body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply {
  return { status, headers: headers === undefined ? { 'content-type': JSON_TYPE } : { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) }
}

/**
 * Whether a value is a web `Response`, told by its tag rather than `instanceof Response`: on
 * Node, the first touch of the global `Response` loads the whole fetch implementation (undici),
 * about 15 ms of a cold start that a Lambda handler answering with plain data never needs.
 */
export function isResponse(value: unknown): value is Response {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Response]'
}

export function toWebResponse(outcome: Outcome): Response {
  return isResponse(outcome) ? outcome : new Response(outcome.body, { status: outcome.status, headers: outcome.headers })
}

export function setHeader(outcome: Outcome, name: string, value: string): void {
  if (isResponse(outcome)) outcome.headers.set(name, value)
  else outcome.headers[name] = value
}

/** Adds a value to a list-valued header (`Server-Timing`), after any the outcome has. */
export function appendHeader(outcome: Outcome, name: string, value: string): void {
  if (isResponse(outcome)) return outcome.headers.append(name, value)
  const existing = outcome.headers[name]
  outcome.headers[name] = existing === undefined ? value : `${existing}, ${value}`
}
