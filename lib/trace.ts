/**
 * A request's trace, as AWS X-Ray names it, and its database statements as X-Ray subsegments.
 *
 * The trace comes from, in order: Lambda's `_X_AMZN_TRACE_ID` (set for each invocation), the
 * request's `X-Amzn-Trace-Id` header (API Gateway's, a load balancer's, a caller's), or a W3C
 * `traceparent` header, read as X-Ray reads one. Its Root goes on every log line of the
 * request (`xray_trace_id`), and its Parent is the parent of the statements' subsegments.
 *
 * Statements are sent as subsegments only when Lambda traces the invocation: active tracing
 * on (Lambda then sets `AWS_XRAY_DAEMON_ADDRESS`) and the trace sampled, unless
 * `POWERTOOLS_TRACE_ENABLED=false`. They go to the X-Ray daemon over UDP as its protocol
 * says (a JSON header line, then the subsegment), with no SDK: `node:dgram` is loaded on the
 * first one, so that a function without tracing loads nothing for it. A subsegment names the
 * database, host and statement text (its parameters never), and says whether it failed.
 */
import type { Env } from './telemetry.ts'

export interface TraceHeader {
  /** `1-5759e988-bd862e3fe1be46a994272793` */
  readonly root: string
  /** The header as it came, `Root=…;Parent=…;Sampled=…`, where the rest is read from when statements may be sent. */
  readonly header: string
}

const ROOT = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/

/** The Root of an `X-Amzn-Trace-Id` (`Root=1-…;Parent=…;Sampled=1`); on every request's path, so read without splitting it. */
function rootOf(value: string): string | undefined {
  let at = 5
  if (!value.startsWith('Root=')) {
    const found = value.indexOf(';Root=')
    if (found === -1) return undefined
    at = found + 6
  }
  const end = value.charCodeAt(at + 35)
  if (!(Number.isNaN(end) || end === 59)) return undefined
  const root = value.slice(at, at + 35)
  return ROOT.test(root) ? root : undefined
}

/** `Root=1-…;Parent=…;Sampled=1`, as X-Ray and Lambda write it; undefined when it has no Root. */
export function parseAmznTraceId(value: string | undefined): TraceHeader | undefined {
  if (value === undefined || value.length > 512) return undefined
  const root = rootOf(value)
  return root === undefined ? undefined : { root, header: value }
}

const PARENT_FIELD = /(?:^|;)\s*Parent=([0-9a-f]{16})(?=;|$)/
const SAMPLED_FIELD = /(?:^|;)\s*Sampled=([01])(?=;|$)/

/** The caller's segment and whether the trace is sampled: read only where statements may be sent. */
export function detailsOf(trace: TraceHeader): { readonly parent: string | undefined; readonly sampled: boolean | undefined } {
  const sampled = SAMPLED_FIELD.exec(trace.header)?.[1]
  return { parent: PARENT_FIELD.exec(trace.header)?.[1], sampled: sampled === undefined ? undefined : sampled === '1' }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** A W3C `traceparent` as X-Ray reads one: its trace id split after 8 hex digits (the epoch seconds). */
export function parseTraceparent(value: string | undefined): TraceHeader | undefined {
  const match = value === undefined ? null : TRACEPARENT.exec(value.trim())
  if (match === null) return undefined
  const [, id, parent, flags] = match as unknown as [string, string, string, string]
  if (/^0+$/.test(id) || /^0+$/.test(parent)) return undefined
  const root = `1-${id.slice(0, 8)}-${id.slice(8)}`
  return { root, header: `Root=${root};Parent=${parent};Sampled=${Number.parseInt(flags, 16) & 1}` }
}

/** The request's trace: Lambda's for the invocation, else the caller's headers. */
export function traceOf(env: Env, header: (name: string) => string | undefined): TraceHeader | undefined {
  return parseAmznTraceId(env._X_AMZN_TRACE_ID) ?? parseAmznTraceId(header('x-amzn-trace-id')) ?? parseTraceparent(header('traceparent'))
}

/** A statement, timed. Seconds since the epoch, as X-Ray takes them. */
export interface StatementSpan {
  readonly startS: number
  readonly endS: number
  readonly sql: string
  /** `neondb@ep-example.eu-central-1.aws.neon.tech`: the database and host, no credentials. */
  readonly database: string
  /** The database answered with an error (`error`), or could not be reached (`fault`). */
  readonly failure?: 'error' | 'fault' | undefined
}

export interface Tracer {
  statement(span: StatementSpan): void
}

/** Where the daemon listens: `127.0.0.1:2000`, or `tcp:… udp:…` (Lambda's form). */
function udpAddress(value: string): { host: string; port: number } | undefined {
  const udp = value.split(/\s+/).find((part) => part.startsWith('udp:')) ?? value
  const match = /^(?:udp:)?(.+):(\d{1,5})$/.exec(udp)
  return match ? { host: match[1] as string, port: Number(match[2]) } : undefined
}

const HEADER = '{"format":"json","version":1}\n'

type Socket = { send(message: string, port: number, host: string): void; unref(): void }

let socket: Promise<Socket> | undefined

function send(address: { host: string; port: number }, document: string): void {
  socket ??= import('node:dgram').then(({ createSocket }) => {
    const created = createSocket('udp4')
    created.on('error', () => undefined) // a lost subsegment is not the request's failure
    created.unref()
    return created
  })
  void socket.then((open) => open.send(HEADER + document, address.port, address.host)).catch(() => undefined)
}

function segmentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/**
 * What decides, for each request, whether its statements are sent: read once, where the app
 * is made (Lambda sets the daemon's address before init; `_X_AMZN_TRACE_ID` is read per request).
 */
export function tracing(env: Env): (trace: TraceHeader | undefined) => Tracer | undefined {
  const address = env.AWS_XRAY_DAEMON_ADDRESS === undefined ? undefined : udpAddress(env.AWS_XRAY_DAEMON_ADDRESS)
  if (address === undefined || env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() === 'false') return () => undefined
  return (trace) => {
    if (trace === undefined) return undefined
    const { parent, sampled } = detailsOf(trace)
    if (parent === undefined || sampled !== true) return undefined
    return {
      statement(span) {
        const document = {
          name: span.database,
          id: segmentId(),
          trace_id: trace.root,
          parent_id: parent,
          type: 'subsegment',
          start_time: span.startS,
          end_time: span.endS,
          namespace: 'remote',
          sql: { database_type: 'PostgreSQL', driver_version: '@neondatabase/serverless', url: span.database, sanitized_query: span.sql.slice(0, 2000) },
          ...(span.failure ? { [span.failure]: true } : {}),
        }
        send(address, JSON.stringify(document))
      },
    }
  }
}

/** `db@host` of a connection string, without user or password. */
export function databaseLabel(url: string): string {
  try {
    const parsed = new URL(url)
    return `${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'}@${parsed.hostname}`
  } catch {
    return 'postgres'
  }
}
