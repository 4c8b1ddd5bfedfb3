/**
 * String lengths counted as pydantic counts them (Python's `len`), in code points: valibot's
 * `minLength`/`maxLength` count UTF-16 units, so an emoji counts twice there and a 51-emoji
 * name fails a 100-character limit. These are those actions with the count changed; they keep
 * their `min_length`/`max_length` type, so the 422's wording (problems.ts) and the OpenAPI
 * document (JSON Schema's minLength/maxLength count code points too) read them as before.
 */
import * as v from 'valibot'

function codePoints(text: string): number {
  let count = 0
  for (const _ of text) count++
  return count
}

/** At least `requirement` characters (code points). */
export function minChars<TInput extends string, const TRequirement extends number>(requirement: TRequirement): v.MinLengthAction<TInput, TRequirement, undefined> {
  return {
    ...v.minLength<TInput, TRequirement>(requirement),
    '~run'(dataset, config) {
      // Code points are never more than UTF-16 units: only a short text needs counting.
      if (dataset.typed && dataset.value.length < 2 * this.requirement && codePoints(dataset.value) < this.requirement) {
        v._addIssue(this, 'length', dataset, config, { received: `${codePoints(dataset.value)}` })
      }
      return dataset
    },
  }
}

/** At most `requirement` characters (code points). */
export function maxChars<TInput extends string, const TRequirement extends number>(requirement: TRequirement): v.MaxLengthAction<TInput, TRequirement, undefined> {
  return {
    ...v.maxLength<TInput, TRequirement>(requirement),
    '~run'(dataset, config) {
      if (dataset.typed && dataset.value.length > this.requirement && codePoints(dataset.value) > this.requirement) {
        v._addIssue(this, 'length', dataset, config, { received: `${codePoints(dataset.value)}` })
      }
      return dataset
    },
  }
}
