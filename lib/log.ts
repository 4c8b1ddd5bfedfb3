/**
 * Structured logs: one JSON object per line, the shape CloudWatch Logs Insights and most log
 * shippers parse without configuration. Errors keep their stack here, in the log, and never
 * in a response.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type LogFields = Record<string, unknown>

export type LogSink = (level: LogLevel, line: string) => void

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack }
  }
  return value
}

const writeConsole: LogSink = (level, line) => {
  if (level === 'error' || level === 'warn') console.error(line)
  else console.log(line)
}

let sink: LogSink = writeConsole

/** Sends log lines elsewhere (tests read them); returns a function that restores the console. */
export function setLogSink(next: LogSink): () => void {
  sink = next
  return () => {
    sink = writeConsole
  }
}

export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  const entry: LogFields = { level, time: new Date().toISOString(), message }
  for (const key in fields) entry[key] = serialize(fields[key])
  sink(level, JSON.stringify(entry))
}

/** Writes a line already formatted as a log entry (a hot path's own formatter). */
export function writeLogLine(level: LogLevel, line: string): void {
  sink(level, line)
}
