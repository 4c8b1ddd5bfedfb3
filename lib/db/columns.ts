/** Row-factory fields for column types the driver returns as something else. */
import * as v from 'valibot'

/** `bigint` columns arrive as strings (they may exceed 2^53); ids here stay below it. */
export const BigIntId = v.pipe(v.union([v.string(), v.number()]), v.transform(Number), v.safeInteger())
