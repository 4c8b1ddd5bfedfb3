/**
 * The user entity, one valibot schema from which the row factory and the TypeScript type
 * both come. Parsing a row keeps only the schema's fields, so `password_hash` can never
 * reach a response by accident.
 */
import * as v from 'valibot'

export const ROLES = ['user', 'admin', 'super_admin'] as const
export const Role = v.picklist(ROLES)
export type Role = v.InferOutput<typeof Role>

/** `bigint` ids arrive as strings from the driver; they are sent as JSON numbers. */
const Id = v.pipe(v.union([v.string(), v.number()]), v.transform(Number), v.safeInteger())

/** ISO 8601 with an explicit UTC offset, as FastAPI writes an aware datetime. */
const Timestamp = v.pipe(
  v.date(),
  v.transform((date) => date.toISOString().replace(/\.000Z$|Z$/, '+00:00')),
)

export const User = v.object({
  id: Id,
  username: v.string(),
  email: v.string(),
  full_name: v.nullable(v.string()),
  role: Role,
  is_active: v.boolean(),
  created_at: Timestamp,
  updated_at: v.nullable(Timestamp),
})
export type User = v.InferOutput<typeof User>

export function userFromRow(row: unknown): User {
  return v.parse(User, row)
}
