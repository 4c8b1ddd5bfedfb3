/**
 * Errors render themselves in FastAPI's shapes (`{"detail": ...}`), so that clients written
 * against a FastAPI service keep working. `toReply` turns anything thrown into a reply; of
 * an unexpected error the client sees only "Internal Server Error", and the log gets the
 * rest, with the request id.
 */
import { log } from '../log.ts'
import type { ValidationProblem } from './problems.ts'
import { jsonReply, type Reply } from './reply.ts'

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

  getReply(): Reply {
    return jsonReply({ detail: this.detail }, this.status, this.headers)
  }

}

/** 422 with every problem of the request at once. */
export class RequestValidationError extends HttpError {
  override name = 'RequestValidationError'
  readonly problems: readonly ValidationProblem[]

  constructor(problems: readonly ValidationProblem[]) {
    super(422, problems)
    this.problems = problems
  }
}

/** The body could not be read at all (broken multipart, bytes that are not UTF-8). */
export function unreadableBody(): HttpError {
  return new HttpError(400, 'There was an error parsing the body')
}

export function notFound(): Reply {
  return jsonReply({ detail: 'Not Found' }, 404)
}

export function methodNotAllowed(allow: readonly string[]): Reply {
  return jsonReply({ detail: 'Method Not Allowed' }, 405, { allow: allow.join(', ') })
}

export function internalServerError(): Reply {
  return jsonReply({ detail: 'Internal Server Error' }, 500)
}

/** A handler's result that its route's response schema rejects: our bug, never the client's. */
export class ResponseValidationError extends Error {
  override name = 'ResponseValidationError'
}

/** The reply for anything thrown while serving a request. */
export function toReply(error: unknown, context: { requestId: string; route: string }): Reply {
  if (error instanceof HttpError) return error.getReply()
  log('error', 'unhandled error', { request_id: context.requestId, route: context.route, error })
  return internalServerError()
}
