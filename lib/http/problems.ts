/**
 * valibot issues as FastAPI (pydantic v2) reports validation problems: `loc`, `msg`, `type`,
 * with the same types and wording for the same mistakes, so that clients which read a
 * FastAPI 422 keep working. Checks that valibot cannot name are registered in
 * named-check.ts with the pydantic type they stand for. The app loads this module with the
 * first request that has a problem, not at every cold start.
 */
import type * as v from 'valibot'
import { namedCheckType } from './named-check.ts'

export type Location = 'path' | 'query' | 'header' | 'body'
export type Loc = readonly (string | number)[]

export interface ValidationProblem {
  readonly loc: Loc
  readonly msg: string
  readonly type: string
  readonly ctx?: Readonly<Record<string, unknown>>
}

type Issue = v.BaseIssue<unknown>

function plural(n: unknown, word: string): string {
  return `${String(n)} ${word}${n === 1 ? '' : 's'}`
}

/** `"user" | "admin"` (valibot's expectation) as pydantic's `'user' or 'admin'`. */
function literalChoices(expected: string | null): string {
  const options = (expected ?? '')
    .replace(/^\((.*)\)$/, '$1')
    .split(' | ')
    .map((option) => `'${option.replace(/^"|"$/g, '')}'`)
  return options.length <= 1 ? options.join('') : `${options.slice(0, -1).join(', ')} or ${options.at(-1)}`
}

function describe(issue: Issue): Omit<ValidationProblem, 'loc'> {
  const { requirement } = issue as Issue & { requirement?: unknown }
  if (issue.kind === 'schema') {
    if (issue.received === 'undefined' && (issue.path?.length ?? 0) > 0) return { type: 'missing', msg: 'Field required' }
    switch (issue.type) {
      case 'string':
        return { type: 'string_type', msg: 'Input should be a valid string' }
      case 'number':
        return { type: 'float_type', msg: 'Input should be a valid number' }
      case 'boolean':
        return { type: 'bool_type', msg: 'Input should be a valid boolean' }
      case 'object':
      case 'strict_object':
      case 'loose_object':
        return { type: 'model_attributes_type', msg: 'Input should be a valid dictionary or object to extract fields from' }
      case 'array':
        return { type: 'list_type', msg: 'Input should be a valid list' }
      case 'picklist':
        return { type: 'literal_error', msg: `Input should be ${literalChoices(issue.expected)}`, ctx: { expected: literalChoices(issue.expected) } }
      default:
        return { type: issue.type, msg: issue.message }
    }
  }
  switch (issue.type) {
    case 'min_length':
      return typeof issue.input === 'string'
        ? { type: 'string_too_short', msg: `String should have at least ${plural(requirement, 'character')}`, ctx: { min_length: requirement } }
        : { type: 'too_short', msg: `List should have at least ${plural(requirement, 'item')}`, ctx: { min_length: requirement } }
    case 'max_length':
      return typeof issue.input === 'string'
        ? { type: 'string_too_long', msg: `String should have at most ${plural(requirement, 'character')}`, ctx: { max_length: requirement } }
        : { type: 'too_long', msg: `List should have at most ${plural(requirement, 'item')}`, ctx: { max_length: requirement } }
    case 'min_value':
      return { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${String(requirement)}`, ctx: { ge: requirement } }
    case 'max_value':
      return { type: 'less_than_equal', msg: `Input should be less than or equal to ${String(requirement)}`, ctx: { le: requirement } }
    case 'gt_value':
      return { type: 'greater_than', msg: `Input should be greater than ${String(requirement)}`, ctx: { gt: requirement } }
    case 'lt_value':
      return { type: 'less_than', msg: `Input should be less than ${String(requirement)}`, ctx: { lt: requirement } }
    case 'regex': {
      const pattern = requirement instanceof RegExp ? requirement.source : String(requirement)
      return { type: 'string_pattern_mismatch', msg: `String should match pattern '${pattern}'`, ctx: { pattern } }
    }
    case 'email':
      return { type: 'value_error', msg: 'value is not a valid email address' }
    case 'integer':
    case 'safe_integer':
      return { type: 'int_from_float', msg: 'Input should be a valid integer, got a number with a fractional part' }
    case 'check': {
      return { type: namedCheckType(requirement) ?? 'value_error', msg: issue.message }
    }
    default:
      return { type: 'value_error', msg: issue.message }
  }
}

export function problemsFromIssues(location: Location, issues: readonly Issue[]): ValidationProblem[] {
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((item) => item.key as string | number)
    return { loc: [location, ...path], ...describe(issue) }
  })
}
