/**
 * Errors render themselves in FastAPI's shapes (`{"detail": ...}`), so that clients written
 * against a FastAPI service keep working. One `onError` turns anything thrown into a
 * response; what the client sees of an unexpected error is only "Internal Server Error".
 */
import type { Context } from 'hono'
import { log } from '../log.ts'

export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: number
  readonly detail: unknown
  readonly headers: Readonly<Record<string, string>>

  constructor(status: number, detail: unknown, headers: Record<string, string> = {}) {
    super(typeof detail === 'string' ? detail : `HTTP ${status}`)
    this.status = status
    this.detail = detail
    this.headers = headers
  }

  getResponse(): Response {
    return Response.json({ detail: this.detail }, { status: this.status, headers: this.headers })
  }
}

/** One problem of a request, as FastAPI reports it inside a 422. */
export interface ValidationProblem {
  readonly loc: readonly (string | number)[]
  readonly msg: string
  readonly type: string
  readonly input?: unknown
}

export class RequestValidationError extends HttpError {
  override name = 'RequestValidationError'

  constructor(problems: readonly ValidationProblem[]) {
    super(422, problems)
  }
}

export function onError(error: Error, c: Context): Response {
  if (error instanceof HttpError) return error.getResponse()
  log('error', 'unhandled error', { method: c.req.method, path: c.req.path, error })
  return Response.json({ detail: 'Internal Server Error' }, { status: 500 })
}

export function notFound(): Response {
  return Response.json({ detail: 'Not Found' }, { status: 404 })
}
