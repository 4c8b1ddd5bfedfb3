/**
 * The user entity. `UserRow` is the row factory: it turns a database row into a typed
 * record (ids as numbers, timestamps as Dates) and rejects a row that is not one. `User` is
 * the response model: only its fields are sent, so `password_hash` never leaves, and it
 * writes timestamps as FastAPI does.
 */
import * as v from 'valibot'
import { BigIntId } from '../db/columns.ts'
import { JsonId, Timestamp } from '../http/json-fields.ts'
import { maxChars, minChars } from '../http/text-length.ts'

export const ROLES = ['user', 'admin', 'super_admin'] as const
export const Role = v.picklist(ROLES)
export type Role = v.InferOutput<typeof Role>

export const UserRow = v.object({
  id: BigIntId,
  username: v.string(),
  email: v.string(),
  full_name: v.nullable(v.string()),
  role: Role,
  is_active: v.boolean(),
  created_at: v.date(),
  updated_at: v.nullable(v.date()),
  /** Moved on by a change of password, role or active state: the tokens it ends (tokens.ts). */
  token_version: v.number(),
})
export type UserRecord = v.InferOutput<typeof UserRow>

export function userFromRow(row: unknown): UserRecord {
  return v.parse(UserRow, row)
}

export const User = v.pipe(
  v.object({
    id: JsonId,
    username: v.string(),
    email: v.string(),
    full_name: v.nullable(v.string()),
    role: Role,
    is_active: v.boolean(),
    created_at: Timestamp,
    updated_at: v.nullable(Timestamp),
  }),
  v.title('User'),
)

const Count = v.pipe(v.number(), v.integer())

/** `GET /users`: a page of active users and how many match in all. */
export const UserPage = v.pipe(
  v.object({ items: v.array(User), page: Count, results_per_page: Count, total: Count }),
  v.title('UserPage'),
)

/** Field rules of `../shared/API.md`, as pydantic would check them (lengths in characters, not UTF-16 units). */
export const Username = v.pipe(v.string(), minChars(3), maxChars(32), v.regex(/^[a-z0-9_.-]+$/))
export const Email = v.pipe(v.string(), maxChars(254), v.email())
export const Password = v.pipe(v.string(), minChars(8), maxChars(128))
export const FullName = v.pipe(v.string(), maxChars(100))

/** `POST /users`: unknown fields are ignored (valibot's object drops them). */
export const NewUser = v.pipe(
  v.object({
    username: Username,
    email: Email,
    password: Password,
    full_name: v.optional(v.nullable(FullName)),
    role: v.optional(Role),
  }),
  v.title('UserCreate'),
)

/** `PATCH /users/{id}`: any of these; `role` and `is_active` are for a super_admin only. */
export const UserChanges = v.pipe(
  v.object({
    email: v.optional(Email),
    full_name: v.optional(v.nullable(FullName)),
    password: v.optional(Password),
    role: v.optional(Role),
    is_active: v.optional(v.boolean()),
  }),
  v.title('UserUpdate'),
)
export type UserChanges = v.InferOutput<typeof UserChanges>

export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const
export const AVATAR_MAX_BYTES = 1024 * 1024
