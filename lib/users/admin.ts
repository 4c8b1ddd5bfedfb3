/**
 * The first super_admin, made when the service is set up (npm run dev, npm run migrate). Apart
 * from the repository that the routes use, since it hashes a password: a route that reads
 * users carries no password hashing.
 */
import { hashPassword } from '../auth/password.ts'
import type { Pool } from '../db/pool.ts'
import { USER_COLUMNS } from './repository.ts'
import { userFromRow, type UserRecord } from './schema.ts'

export interface NewSuperAdmin {
  readonly username: string
  readonly password: string
  readonly email: string
}

/**
 * Creates the first super_admin unless a user of that name exists; an existing account is
 * left as it is (its password is not reset on every start).
 */
export async function ensureSuperAdmin(db: Pick<Pool, 'query'>, admin: NewSuperAdmin): Promise<{ created: boolean; user: UserRecord }> {
  const existing = await db.query(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [admin.username])
  if (existing.rows[0] !== undefined) return { created: false, user: userFromRow(existing.rows[0]) }
  const { rows } = await db.query(
    `INSERT INTO users (username, email, password_hash, role)
     VALUES ($1, $2, $3, 'super_admin')
     ON CONFLICT (username) DO NOTHING
     RETURNING ${USER_COLUMNS}`,
    [admin.username, admin.email, await hashPassword(admin.password)],
  )
  // Another process may have created it between the two statements.
  if (rows[0] === undefined) return ensureSuperAdmin(db, admin)
  return { created: true, user: userFromRow(rows[0]) }
}
