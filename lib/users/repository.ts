import type { Session, Transaction } from '../db/session.ts'
import { userFromRow, type Role, type UserRecord } from './schema.ts'

export const USER_COLUMNS = 'id, username, email, full_name, role, is_active, created_at, updated_at, token_version'

/** Users a request will read by id, to be read in the statement of its first read of a user (`expectUser`). */
const expected = new WeakMap<Session, Set<number>>()
/** What that statement found for them, taken once each by `findUserById`. */
const prefetched = new WeakMap<Session, Map<number, Promise<UserRecord | undefined>>>()

/**
 * Says that the request will read user `id`: the next read of a user in the session (the
 * caller's, as the request starts) reads this one too, in the same statement, and the read
 * of `id` that follows takes its row instead of a round trip. What is read so is read before
 * the route has decided whether the caller may see it: a route that does not let the caller
 * see it answers as it would have (403), and the row goes nowhere.
 */
export function expectUser(db: Session, id: number): void {
  let ids = expected.get(db)
  if (ids === undefined) expected.set(db, (ids = new Set()))
  ids.add(id)
}

export async function findUserById(db: Session, id: number): Promise<UserRecord | undefined> {
  const found = prefetched.get(db)
  const ready = found?.get(id)
  if (ready !== undefined) {
    found?.delete(id)
    return ready
  }
  const others = [...(expected.get(db) ?? [])].filter((other) => other !== id)
  expected.delete(db)
  if (others.length === 0) {
    const { rows } = await db.read(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id])
    return rows[0] === undefined ? undefined : userFromRow(rows[0])
  }
  const read = db.read(`SELECT ${USER_COLUMNS} FROM users WHERE id = ANY($1::bigint[])`, [[id, ...others]]).then(({ rows }) => {
    const users = new Map(rows.map((row) => userFromRow(row)).map((user) => [user.id, user]))
    return (wanted: number) => users.get(wanted)
  })
  // Each expected user's row, or the statement's failure when it has one: a read of it that fails as its own read would have.
  const reads = new Map(others.map((other) => [other, read.then((pick) => pick(other))]))
  for (const promise of reads.values()) promise.catch(() => undefined)
  prefetched.set(db, reads)
  return (await read)(id)
}

/** What a login needs of a user: the hash to check, whether they may sign in, and the version their token carries. */
export async function findLogin(db: Session, username: string): Promise<{ id: number; passwordHash: string; isActive: boolean; tokenVersion: number } | undefined> {
  // No stored username holds a NUL, and PostgreSQL would refuse the text (22021).
  if (username.includes('\0')) return undefined
  const { rows } = await db.read<{ id: string; password_hash: string; is_active: boolean; token_version: number }>(
    'SELECT id, password_hash, is_active, token_version FROM users WHERE username = $1',
    [username],
  )
  const row = rows[0]
  return row === undefined ? undefined : { id: Number(row.id), passwordHash: row.password_hash, isActive: row.is_active, tokenVersion: Number(row.token_version) }
}

export interface UserListing {
  readonly items: UserRecord[]
  readonly total: number
}

/** `%`, `_` and `\` match themselves in a LIKE pattern once escaped (the default escape is `\`). */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`
}

/** The searched text, as the index of 0004_users_search_text.sql has it: the statement must name this very expression. */
const SEARCH_TEXT = "(username || ' ' || email || ' ' || coalesce(full_name, ''))"

/** Which users a listing shows: the active ones, and with a search those it matches (`param` holds likePattern(search)). */
export function listingFilter(search: string, param: string): string {
  return search === '' ? 'is_active' : `is_active AND ${SEARCH_TEXT} ILIKE ${param} AND (username ILIKE ${param} OR email ILIKE ${param} OR full_name ILIKE ${param})`
}

/**
 * A listing in one statement, so in one round trip: the count of every match, and the page
 * joined to it. A page past the end is one row of the count with no user in it. With a
 * search, the trigram index over SEARCH_TEXT finds the candidates and the per-column ILIKE
 * decides, so a term that spans two columns of the joined text matches nothing.
 */
export function listingStatement(page: number, perPage: number, search: string) {
  const filter = listingFilter(search, '$3')
  return {
    sql: `SELECT matched.total, listed.* FROM (SELECT count(*) AS total FROM users WHERE ${filter}) AS matched
      LEFT JOIN LATERAL (SELECT ${USER_COLUMNS} FROM users WHERE ${filter} ORDER BY id LIMIT $1 OFFSET $2) AS listed ON true`,
    args: search === '' ? [perPage, (page - 1) * perPage] : [perPage, (page - 1) * perPage, likePattern(search)],
  }
}

/**
 * Active users, in id order, one page of them; with a search, those whose username, email
 * or full name contains it (any case, `%`, `_` and `\` as themselves). `total` counts every
 * match.
 */
export async function listUsers(db: Session, page: number, perPage: number, search: string): Promise<UserListing> {
  const statement = listingStatement(page, perPage, search)
  const { rows } = await db.read<Record<string, unknown> & { total: string }>(statement.sql, statement.args)
  return { items: rows.filter((row) => row.id !== null).map(userFromRow), total: Number(rows[0]?.total ?? 0) }
}

/** A username or email that another user has (a unique index said no). */
export class DuplicateUser extends Error {
  override name = 'DuplicateUser'
  readonly field: 'username' | 'email'

  constructor(field: 'username' | 'email') {
    super(`${field} is taken`)
    this.field = field
  }
}

function duplicateFrom(error: unknown): DuplicateUser | undefined {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string }
  if (code !== '23505') return undefined
  return new DuplicateUser(constraint === 'users_email_key' ? 'email' : 'username')
}

async function uniquely<T>(statement: Promise<T>): Promise<T> {
  try {
    return await statement
  } catch (error) {
    throw duplicateFrom(error) ?? error
  }
}

export interface NewUserRecord {
  readonly username: string
  readonly email: string
  readonly passwordHash: string
  readonly fullName: string | null
  readonly role: Role
}

export async function insertUser(db: Session, user: NewUserRecord): Promise<UserRecord> {
  const { rows } = await uniquely(
    db.write(
      `INSERT INTO users (username, email, password_hash, full_name, role) VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS}`,
      [user.username, user.email, user.passwordHash, user.fullName, user.role],
    ),
  )
  return userFromRow(rows[0])
}

/** The change would leave no active super_admin: no one could administer the service. */
export class LastSuperAdmin extends Error {
  override name = 'LastSuperAdmin'
}

/**
 * Runs `change` on user `id` in one SERIALIZABLE transaction with the check that an active
 * super_admin remains: the active super_admins are read, then the row changed. Two such
 * changes at once (two super_admins demoting each other) would each see the other still in
 * charge; PostgreSQL refuses one of them (40001), which runs again and sees the first's result.
 */
function leavingASuperAdmin<T>(db: Session, id: number, change: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(
    async (tx) => {
      const { rows } = await tx.query<{ holds: boolean | null; others: number }>(
        `SELECT bool_or(id = $1) AS holds, count(*) FILTER (WHERE id <> $1)::int AS others FROM users WHERE role = 'super_admin' AND is_active`,
        [id],
      )
      if (rows[0]?.holds === true && rows[0].others === 0) throw new LastSuperAdmin('the last active super_admin cannot be deleted, deactivated or demoted')
      return change(tx)
    },
    { isolation: 'serializable' },
  )
}

export interface UserUpdate {
  readonly email?: string
  readonly fullName?: string | null
  readonly passwordHash?: string
  readonly role?: Role
  readonly isActive?: boolean
}

/**
 * Applies the changes given (and sets `updated_at`); undefined when there is no such user.
 * A new password, or a role or active state other than the user's, moves `token_version` on,
 * which ends every token issued before. Throws LastSuperAdmin, changing nothing, for a
 * demotion or deactivation of the last active super_admin.
 */
export async function updateUser(db: Session, id: number, update: UserUpdate): Promise<UserRecord | undefined> {
  const takesRights = (update.role !== undefined && update.role !== 'super_admin') || update.isActive === false
  const columns: [string, unknown][] = [
    ['email', update.email],
    ['full_name', update.fullName],
    ['password_hash', update.passwordHash],
    ['role', update.role],
    ['is_active', update.isActive],
  ]
  const set = columns.filter(([, value]) => value !== undefined)
  const assignments = set.map(([column], index) => `${column} = $${index + 2}`)
  // In SET, a column names its value before the change.
  const endsTokens = set.flatMap(([column], index) => (column === 'password_hash' ? ['true'] : column === 'role' || column === 'is_active' ? [`${column} <> $${index + 2}`] : []))
  if (endsTokens.length > 0) assignments.push(`token_version = token_version + CASE WHEN ${endsTokens.join(' OR ')} THEN 1 ELSE 0 END`)
  const sql = `UPDATE users SET ${[...assignments, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${USER_COLUMNS}`
  const args = [id, ...set.map(([, value]) => value)]
  const { rows } = await uniquely(takesRights ? leavingASuperAdmin(db, id, (tx) => tx.query(sql, args)) : db.write(sql, args))
  return rows[0] === undefined ? undefined : userFromRow(rows[0])
}

/** False when there is no such user; throws LastSuperAdmin, deleting nothing, for the last active super_admin. */
export async function deleteUser(db: Session, id: number): Promise<boolean> {
  const { rowCount } = await leavingASuperAdmin(db, id, (tx) => tx.query('DELETE FROM users WHERE id = $1', [id]))
  return rowCount > 0
}

/** Stores (or replaces) a user's avatar; false when there is no such user. */
export async function putAvatar(db: Session, userId: number, contentType: string, data: Uint8Array): Promise<boolean> {
  const { rowCount } = await db.write(
    `INSERT INTO user_avatars (user_id, content_type, data)
     SELECT id, $2, $3 FROM users WHERE id = $1
     ON CONFLICT (user_id) DO UPDATE SET content_type = EXCLUDED.content_type, data = EXCLUDED.data, updated_at = now()`,
    [userId, contentType, data],
  )
  return rowCount > 0
}

export async function findAvatar(db: Session, userId: number): Promise<{ contentType: string; data: Uint8Array } | undefined> {
  const { rows } = await db.read<{ content_type: string; data: Uint8Array }>('SELECT content_type, data FROM user_avatars WHERE user_id = $1', [userId])
  const row = rows[0]
  return row === undefined ? undefined : { contentType: row.content_type, data: row.data }
}
