import type { HttpApiHandler } from '../../lib/http/lambda.ts'
import { httpApiEvent, lambdaContext, type EventOptions } from '../fixtures/lambda.ts'

export interface Invocation {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  json(): unknown
}

/** Calls a Lambda handler the way the Lambda runtime does, with a payload-2.0 event. */
export async function invoke(handler: HttpApiHandler, options: EventOptions): Promise<Invocation> {
  const result = await handler(httpApiEvent(options), lambdaContext())
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value)
  const raw = result.body ?? ''
  const body = result.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw
  return { status: result.statusCode ?? 200, headers, body, json: () => JSON.parse(body) }
}
