/**
 * Response-model fields for values JSON has no type for, written as FastAPI (pydantic)
 * writes them.
 */
import * as v from 'valibot'
import { describedAs } from './params.ts'

/** `2026-01-01T10:00:00+00:00`; fractions as microseconds, `...:00.123000+00:00`. */
export function isoTimestamp(date: Date): string {
  const iso = date.toISOString()
  const ms = iso.slice(20, 23)
  return `${iso.slice(0, 19)}${ms === '000' ? '' : `.${ms}000`}+00:00`
}

export const Timestamp = v.pipe(
  v.date(),
  v.transform(isoTimestamp),
  describedAs<string>({ type: 'string', format: 'date-time' }),
)

/** An id sent as a JSON number, which it can be only while it is a safe integer. */
export const JsonId = v.pipe(v.number(), v.safeInteger())
