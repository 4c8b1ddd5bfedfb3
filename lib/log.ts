/**
 * Structured logs: one JSON object per line on stdout, with the field names of Powertools for
 * AWS Lambda's Logger (`level` as INFO/WARN/ERROR, `message`, `timestamp`, `service`,
 * `cold_start`, `function_name`, `function_memory_size`, `function_request_id`,
 * `xray_trace_id`), so that Lambda's JSON log format, its log-level filtering and CloudWatch
 * Logs Insights read them as they are, and Powertools users' queries work.
 *
 * Lines go to `process.stdout` directly, not through `console`: Lambda's runtime patches the
 * console, and under its text log format would prefix each line and tag a warning ERROR.
 * Where there is no `process.stdout` (workerd), `console.log`. Errors keep their stack here,
 * in the log, and never in a response. The level is the configuration's (lib/telemetry.ts).
 */
import { onTelemetry, rankOf } from './telemetry.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type LogFields = Record<string, unknown>

export type LogSink = (level: LogLevel, line: string) => void

const UPPER: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' }
const RANK: Record<LogLevel, number> = { debug: rankOf('debug'), info: rankOf('info'), warn: rankOf('warn'), error: rankOf('error') }

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack }
  }
  return value
}

const stdout = globalThis.process?.stdout as { write(text: string): boolean } | undefined

const writeOut: LogSink = stdout && typeof stdout.write === 'function' ? (_level, line) => void stdout.write(`${line}\n`) : (_level, line) => console.log(line)

let sink: LogSink = writeOut

/** Sends log lines elsewhere (tests read them); returns a function that restores stdout. */
export function setLogSink(next: LogSink): () => void {
  sink = next
  return () => {
    sink = writeOut
  }
}

/** What every line says of the function, written once: `,"service":…,"function_name":…`. */
let functionFields = ''
let minRank = 20

onTelemetry((settings) => {
  minRank = settings.minRank
  functionFields = `,"service":${JSON.stringify(settings.service)}`
  if (settings.functionMemoryMb !== undefined) functionFields += `,"function_memory_size":${settings.functionMemoryMb}`
  if (settings.functionName !== undefined) functionFields += `,"function_name":${JSON.stringify(settings.functionName)}`
})

/** The current Lambda invocation (one at a time per instance), and what it adds to a line, made when first needed. */
let invocation: Invocation | undefined
let invocationFields: string | undefined

export interface Invocation {
  readonly coldStart: boolean
  /** Lambda's id of the invocation (`context.awsRequestId`). */
  readonly functionRequestId?: string | undefined
  /** The X-Ray trace's Root, `1-5759e988-bd862e3fe1be46a994272793`. */
  readonly xrayTraceId?: string | undefined
}

function fieldsOf(of: Invocation): string {
  let text = `,"cold_start":${of.coldStart}`
  if (of.functionRequestId !== undefined) text += `,"function_request_id":${JSON.stringify(of.functionRequestId)}`
  // A Root is hex digits and dashes (trace.ts checks it): nothing to escape.
  if (of.xrayTraceId !== undefined) text += `,"xray_trace_id":"${of.xrayTraceId}"`
  return text
}

/** The fields of an invocation, as they go on a line (each starting with a comma). */
export function invocationText(of: Invocation): string {
  return of === invocation ? (invocationFields ??= fieldsOf(of)) : fieldsOf(of)
}

/**
 * Sets the invocation every later line belongs to, until the next: only where one instance
 * serves one request at a time (Lambda). Elsewhere requests overlap, and only a request's own
 * line carries its fields.
 */
export function setInvocation(next: Invocation | undefined): void {
  invocation = next
  invocationFields = undefined
}

let clockMs = 0
let clockIso = ''

/** The current time in ISO 8601, formatted at most once a millisecond. */
function isoNow(): string {
  const now = Date.now()
  if (now !== clockMs) {
    clockMs = now
    clockIso = new Date(now).toISOString()
  }
  return clockIso
}

/** Whether lines of this level are written (`LOG_LEVEL=warn` hides info and debug). */
export function logs(level: LogLevel): boolean {
  return RANK[level] >= minRank
}

/**
 * The start of a line, to which a hot path appends its own fields and the closing brace:
 * `{"level":"INFO","message":…,"timestamp":…,"service":…` and the function's fields. `invocation`
 * is this line's own, where it is not the instance's current one.
 */
export function lineStart(level: LogLevel, message: string, own?: string): string {
  return `{"level":"${UPPER[level]}","message":${message === 'request' ? '"request"' : JSON.stringify(message)},"timestamp":"${isoNow()}"${functionFields}${own ?? (invocation === undefined ? '' : invocationText(invocation))}`
}

export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  if (!logs(level)) return
  let text = ''
  for (const key in fields) {
    const value = fields[key]
    if (value !== undefined) text += `,${JSON.stringify(key)}:${JSON.stringify(serialize(value))}`
  }
  sink(level, `${lineStart(level, message)}${text}}`)
}

/** Writes a line already formatted (a hot path's own formatter, or an EMF document). */
export function writeLogLine(level: LogLevel, line: string): void {
  sink(level, line)
}

