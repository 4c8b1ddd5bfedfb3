/**
 * Schemas for values that arrive as text (path, query, header), read as FastAPI reads
 * typed parameters, with pydantic's error types: `int_parsing` for "abc" where an int is
 * wanted, `bool_parsing` for "maybe" where a bool is.
 */
import * as v from 'valibot'
import { namedCheck } from './named-check.ts'

const isIntegerText = (text: string) => /^\s*[+-]?\d+\s*$/.test(text) && Number.isSafeInteger(Number(text))

/** How the OpenAPI document describes a value (its wire form, not its text form). */
export function describedAs<TInput>(jsonSchema: Readonly<Record<string, unknown>>) {
  return v.metadata<TInput, { readonly jsonSchema: Readonly<Record<string, unknown>> }>({ jsonSchema })
}

/** An integer written in text; `min` and `max` bound it (pydantic's `ge` and `le`). */
export function intParam(bounds: { min?: number; max?: number } = {}) {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds
  return v.pipe(
    v.string(),
    namedCheck('int_parsing', 'Input should be a valid integer, unable to parse string as an integer', isIntegerText),
    v.transform(Number),
    v.minValue(min),
    v.maxValue(max),
    describedAs<number>({ type: 'integer', ...(bounds.min === undefined ? {} : { minimum: min }), ...(bounds.max === undefined ? {} : { maximum: max }) }),
  )
}

const TRUE = new Set(['1', 'true', 't', 'yes', 'y', 'on'])
const FALSE = new Set(['0', 'false', 'f', 'no', 'n', 'off'])
const isBooleanText = (text: string) => TRUE.has(text.toLowerCase()) || FALSE.has(text.toLowerCase())

/** A boolean written in text, accepting what pydantic accepts (`true`, `1`, `yes`, `on`, ...). */
export function boolParam() {
  return v.pipe(
    v.string(),
    namedCheck('bool_parsing', 'Input should be a valid boolean, unable to interpret input', isBooleanText),
    v.transform((text) => TRUE.has(text.toLowerCase())),
    describedAs<boolean>({ type: 'boolean' }),
  )
}
