import { withText } from './lambda-event.ts'

/**
 * An answer as plain data: the error answers, and what the stale cache keeps and serves.
 */
export interface Reply {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string | null
}

export const JSON_TYPE = 'application/json; charset=utf-8'

export function jsonReply(body: unknown, status = 200, headers?: Readonly<Record<string, string>>): Reply {
  return { status, headers: headers === undefined ? { 'content-type': JSON_TYPE } : { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) }
}

export function toWebResponse(reply: Reply): Response {
  return withText(new Response(reply.body, { status: reply.status, headers: reply.headers }), reply.body)
}
