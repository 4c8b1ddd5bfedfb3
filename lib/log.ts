/**
 * Structured logs: one JSON object per line on stdout, the shape CloudWatch Logs Insights
 * and most log shippers parse without configuration. Errors keep their stack here, in the
 * log, and never in a response.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export type LogFields = Record<string, unknown>

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack }
  }
  return value
}

export function log(level: LogLevel, message: string, fields: LogFields = {}): void {
  const entry: LogFields = { level, time: new Date().toISOString(), message }
  for (const [key, value] of Object.entries(fields)) entry[key] = serialize(value)
  const line = JSON.stringify(entry)
  if (level === 'error' || level === 'warn') console.error(line)
  else console.log(line)
}
