/**
 * Who is calling, as a chain of dependencies (the seed's `db_conn` → `current_user` →
 * `super_admin`): `currentUser` verifies the bearer token and loads the user with the request's
 * database session; `superAdmin` needs that user to be a super_admin.
 *
 * While the database cannot answer, a caller is still identified: the token is verified as
 * always, and their user record comes from the last one read for them (kept in the stale
 * cache, in the instance and in Redis). Their rights are those of that record, so a stale
 * answer is served only to a caller with the same rights; a caller whose record is not held
 * gets 503, never someone else's data.
 */
import * as v from 'valibot'
import { readAuthConfig, type AuthConfig } from '../config.ts'
import { dbConn } from '../db/database.ts'
import { DatabaseUnavailable } from '../db/resilience.ts'
import { depends } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import { lifespan } from '../http/lifespan.ts'
import { log } from '../log.ts'
import { findUserById } from '../users/repository.ts'
import { Role, type UserRecord } from '../users/schema.ts'
import { verifyToken } from './tokens.ts'

/** Reads the token settings once, when the instance starts: a missing JWT_SECRET fails startup. */
export const auth = lifespan('auth', async function* ({ env }): AsyncGenerator<AuthConfig, void, undefined> {
  yield readAuthConfig(env)
}, { secrets: ['JwtSecret'] })

/** The token settings, for the route that issues tokens. */
export const authSettings = depends({ name: 'authSettings', lifespans: [auth] }, (_, scope): AuthConfig => scope.state(auth))

const CHALLENGE = { 'www-authenticate': 'Bearer' }

export const notAuthenticated = () => new HttpError(401, 'Not authenticated', CHALLENGE)
export const badCredentials = () => new HttpError(401, 'Could not validate credentials', CHALLENGE)
export const forbidden = () => new HttpError(403, 'Not enough permissions')

/** The caller: who they are and their rights, and their user record when it was read fresh. */
export interface Caller {
  readonly id: number
  readonly role: Role
  /** Read for this request; undefined when the caller was identified from the cache. */
  readonly user: UserRecord | undefined
  /** Why the record could not be read (the database was unavailable), when it could not. */
  readonly outage: DatabaseUnavailable | undefined
}

/** What is kept of a caller for a later outage: enough to know their rights, nothing more. */
const KeptCaller = v.object({ id: v.number(), role: Role })

const callerKey = (id: number) => JSON.stringify(['caller', id])

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The bearer token of the Authorization header; 401 when there is none. */
export const bearerToken = depends({ name: 'bearerToken' }, (_, scope): string => {
  const header = scope.header('authorization')
  const match = header === undefined ? null : /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)
  if (match === null) throw notAuthenticated()
  return match[1] as string
})

export const currentUser = depends(
  { name: 'currentUser', dependencies: { token: bearerToken, db: dbConn }, lifespans: [auth] },
  async ({ token, db }, scope): Promise<Caller> => {
    const id = await verifyToken(token, scope.state(auth).jwtSecret)
    if (id === undefined) throw badCredentials()
    let user: UserRecord | undefined
    try {
      user = await findUserById(db, id)
    } catch (error) {
      if (!(error instanceof DatabaseUnavailable)) throw error
      const kept = await scope.findLastGood(callerKey(id))
      const parsed = kept && v.safeParse(KeptCaller, parseJson(kept.value))
      if (!parsed?.success) throw error
      log('warn', 'caller identified from cache', { request_id: scope.requestId, user_id: id, age_s: kept?.ageSeconds })
      return { id, role: parsed.output.role, user: undefined, outage: error }
    }
    // A deleted or deactivated user's token stops working at once.
    if (user === undefined || !user.is_active) throw badCredentials()
    scope.keepLastGood(callerKey(id), JSON.stringify({ id: user.id, role: user.role }))
    return { id: user.id, role: user.role, user, outage: undefined }
  },
)

/** The caller's own user record; when it could not be read, the outage (a 503, or a stale answer). */
export function ownRecord(caller: Caller): UserRecord {
  if (caller.user === undefined) throw caller.outage ?? new Error('caller has neither a record nor an outage')
  return caller.user
}

/** 403 unless the caller is a super_admin or the user `id` themselves (the routes on one user). */
export function requireAdminOrSelf(caller: Caller, id: number): void {
  if (caller.role !== 'super_admin' && caller.id !== id) throw forbidden()
}

export const superAdmin = depends({ name: 'superAdmin', dependencies: { caller: currentUser } }, ({ caller }): Caller => {
  if (caller.role !== 'super_admin') throw forbidden()
  return caller
})

/** Authority of routes only a super_admin may call: every super_admin sees the same. */
export const superAdminAuthority = depends({ name: 'superAdminAuthority', dependencies: { admin: superAdmin } }, () => 'super_admin')

/**
 * Authority of routes on one user that a super_admin may read for anyone and a user for
 * themselves (the user's id is in the path, so every super_admin sees the same answer).
 */
export const adminOrSelfAuthority = depends({ name: 'adminOrSelfAuthority', dependencies: { caller: currentUser } }, ({ caller }) =>
  caller.role === 'super_admin' ? 'super_admin' : `user:${caller.id}`,
)

/** Authority of routes about the caller themselves (`/users/me`): theirs alone. */
export const selfAuthority = depends({ name: 'selfAuthority', dependencies: { caller: currentUser } }, ({ caller }) => `user:${caller.id}`)
