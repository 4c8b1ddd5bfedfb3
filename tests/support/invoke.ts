import type { HttpApiHandler } from '../../lib/http/lambda.ts'
import { httpApiEvent, lambdaContext, type EventOptions } from '../fixtures/lambda.ts'

export interface Invocation {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  /** The body's bytes (decoded from base64 when the result says so). */
  readonly bytes: Buffer
  readonly isBase64Encoded: boolean
  json(): unknown
}

/** Calls a Lambda handler the way the Lambda runtime does, with a payload-2.0 event. */
export async function invoke(handler: HttpApiHandler, options: EventOptions): Promise<Invocation> {
  const result = await handler(httpApiEvent(options), lambdaContext())
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value)
  const raw = result.body ?? ''
  const bytes = result.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8')
  const body = bytes.toString('utf8')
  return {
    status: result.statusCode ?? 200,
    headers,
    body,
    bytes,
    isBase64Encoded: result.isBase64Encoded ?? false,
    json: () => JSON.parse(body),
  }
}
