import { setLogSink } from '../../lib/log.ts'

export interface CapturedLog {
  readonly level: string
  readonly message: string
  readonly [field: string]: unknown
}

/** Collects the structured log lines written while it is active. */
export function captureLogs(): { readonly entries: CapturedLog[]; restore(): void } {
  const entries: CapturedLog[] = []
  const restore = setLogSink((_level, line) => entries.push(JSON.parse(line) as CapturedLog))
  return { entries, restore }
}
