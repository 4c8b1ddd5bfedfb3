/** Callers for tests: users of a given role, and bearer tokens signed with the test key. */
import { hashPassword } from '../../lib/auth/password.ts'
import { issueToken } from '../../lib/auth/tokens.ts'
import { createPool } from '../../lib/db/pool.ts'
import type { Role } from '../../lib/users/schema.ts'
import { TEST_JWT_SECRET, uniqueName } from './database.ts'

export interface TestUser {
  readonly id: number
  readonly username: string
  readonly password: string
}

/** One hash for every test user: scrypt at full cost is too slow to run per user. */
let sharedHash: Promise<string> | undefined
export const TEST_PASSWORD = 'correct horse battery'

export async function createUser(url: string, options: { prefix?: string; role?: Role; isActive?: boolean; fullName?: string } = {}): Promise<TestUser> {
  const username = uniqueName(options.prefix ?? 'user')
  const hash = await (sharedHash ??= hashPassword(TEST_PASSWORD))
  const pool = createPool({ url, max: 1 })
  try {
    const { rows } = await pool.query(
      `INSERT INTO users (username, email, full_name, password_hash, role, is_active) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [username, `${username}@example.com`, options.fullName ?? null, hash, options.role ?? 'user', options.isActive ?? true],
    )
    return { id: Number(rows[0].id), username, password: TEST_PASSWORD }
  } finally {
    await pool.end()
  }
}

/** The Authorization header of a token for this user id (at its token version, 0 for a new user), signed with the test key. */
export async function bearer(id: number, ttlSeconds = 600, version = 0): Promise<Record<string, string>> {
  const { accessToken } = await issueToken({ id, version }, TEST_JWT_SECRET, ttlSeconds)
  return { authorization: `Bearer ${accessToken}` }
}
