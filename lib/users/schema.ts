/**
 * The user entity. `UserRow` is the row factory: it turns a database row into a typed
 * record (ids as numbers, timestamps as Dates) and rejects a row that is not one. `User` is
 * the response model: only its fields are sent, so `password_hash` never leaves, and it
 * writes timestamps as FastAPI does.
 */
import * as v from 'valibot'
import { BigIntId } from '../db/columns.ts'
import { JsonId, Timestamp } from '../http/json-fields.ts'

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
})
export type UserRecord = v.InferOutput<typeof UserRow>

export function userFromRow(row: unknown): UserRecord {
  return v.parse(UserRow, row)
}

export const User = v.object({
  id: JsonId,
  username: v.string(),
  email: v.string(),
  full_name: v.nullable(v.string()),
  role: Role,
  is_active: v.boolean(),
  created_at: Timestamp,
  updated_at: v.nullable(Timestamp),
})
