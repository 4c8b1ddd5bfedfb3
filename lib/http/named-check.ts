/**
 * Checks that valibot cannot name (an integer in a query string, say), registered with the
 * pydantic error type they stand for. Apart from problems.ts, which words the 422 and loads
 * only with a request's first problem, because schemas use this as their modules load.
 */
import * as v from 'valibot'

const NAMED_CHECKS = new WeakMap<object, string>()

/** A `v.check` whose failure is reported with pydantic's `type` and message. */
export function namedCheck<T>(type: string, msg: string, requirement: (input: T) => boolean) {
  NAMED_CHECKS.set(requirement, type)
  return v.check<T, string>(requirement, msg)
}

/** The pydantic type a `namedCheck` requirement was registered with. */
export function namedCheckType(requirement: unknown): string | undefined {
  return typeof requirement === 'function' ? NAMED_CHECKS.get(requirement) : undefined
}
