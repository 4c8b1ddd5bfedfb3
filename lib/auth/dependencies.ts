/**
 * Who is calling, as a chain of dependencies (the seed's `db_conn` → `current_user` →
 * `super_admin`): `currentUser` verifies the bearer token and loads the user with the request's
 * database session; `superAdmin` needs that user to be a super_admin.
 *
 * While the database cannot answer, a caller is still identified: the token is verified as
 * always, and their rights come from the record last read for them (kept in the instance, and
 * in Redis when it is configured). A stale answer is served only to a caller with the same
 * rights; a caller whose rights are not known for sure gets 503, never someone else's data:
 * - the record is trusted for CALLER_RECORD_TTL_MS after it was last read fresh, no longer;
 * - a change that ends tokens (password, role, active state) or a deletion withdraws it, in
 *   both tiers (`callerRecords`): a record older than the change is not used again, and a
 *   token older than the change gets 401, as it would with the database up;
 * - the token's version must be the record's: a newer token means the record is older than a
 *   change this instance has not heard of.
 */
import * as v from 'valibot'
import { readAuthConfig, type AuthConfig } from '../config.ts'
import { dbConn } from '../db/database.ts'
import { DatabaseUnavailable } from '../db/resilience.ts'
import { settlesWithin } from '../db/timeout.ts'
import { depends, type RequestScope } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import { lifespan } from '../http/lifespan.ts'
import { sharedCache } from '../http/stale-cache.ts'
import { log } from '../log.ts'
import { findUserById } from '../users/repository.ts'
import { Role, type UserRecord } from '../users/schema.ts'
import { verifyToken, type TokenSubject } from './tokens.ts'

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
  /**
   * Identified from the kept record at the stale budget while the read of their row goes on:
   * that read, which still decides (401 if it finds the rights gone, 503 if it fails) any
   * answer that is not a stale one (`scope.confirmLater`).
   */
  readonly pending?: Promise<UserRecord>
}

/**
 * How long a caller's record is trusted after it was last read fresh, for a stale answer. An
 * instance hears of a change made elsewhere through Redis (`callerRecords`); without Redis,
 * or if Redis could not be written when the change was made, this is how long rights that
 * were taken away may still be used for a stale answer on another instance. A user who sends
 * requests keeps their record fresh; one who has not been seen for this long gets 503 until
 * the database is back.
 */
export const CALLER_RECORD_TTL_MS = 15 * 60_000

/** What is kept of a caller for a later outage: enough to know their rights, nothing more. */
const KeptCaller = v.object({ id: v.number(), role: Role, version: v.number() })

const callerKey = (id: number) => JSON.stringify(['caller', id])
/** The lowest token version a kept record of the caller may have (`Infinity` once deleted). */
const withdrawnKey = (id: number) => JSON.stringify(['caller-withdrawn', id])

/**
 * After a change that ends the user's tokens (the new `version`), or their deletion (no
 * version): no record of them kept before it is used again, in this instance or, through
 * Redis, in any other. The promise is Redis's write; it never rejects (a failure is logged,
 * and CALLER_RECORD_TTL_MS bounds what it leaves).
 */
function withdrawCaller(scope: RequestScope, id: number, version = Infinity): Promise<void> {
  // Outlives every record kept before it, whose expiry it may not precede.
  return scope.keepLastGood(withdrawnKey(id), String(version), CALLER_RECORD_TTL_MS + 60_000)
}

/** What a route that changes a user's rights or deletes them uses to withdraw what was kept of them. */
export const callerRecords = depends({ name: 'callerRecords', lifespans: [sharedCache] }, (_, scope) => ({
  withdraw: (id: number, version?: number) => withdrawCaller(scope, id, version),
}))

/** The outage a kept record found at the stale budget stands in for, until the abandoned read ends in its own. */
const UNKNOWN = new DatabaseUnavailable('pool_timeout', 1)

/** The caller's rights from what is kept, while the database is unavailable (`outage`). */
async function keptCaller(scope: RequestScope, subject: TokenSubject, outage: DatabaseUnavailable): Promise<Caller> {
  // Both as newest in either tier: another instance may have renewed the record, or withdrawn it, since this one kept its own.
  const newest = { newest: true }
  const [kept, withdrawn] = await Promise.all([scope.findLastGood(callerKey(subject.id), newest), scope.findLastGood(withdrawnKey(subject.id), newest)])
  const parsed = kept && v.safeParse(KeptCaller, parseJson(kept.value))
  const record = parsed?.success ? parsed.output : undefined
  // A withdrawal that cannot be read withdraws everything.
  const floor = withdrawn === undefined ? 0 : Number(withdrawn.value)
  const lowest = Number.isNaN(floor) ? Infinity : floor
  // A token that a change has ended is refused, as it is with the database up.
  if (subject.version < Math.max(lowest, record?.version ?? 0)) throw badCredentials()
  // No record, one from before a change, or one older than the token: rights not known.
  if (record === undefined || record.version < lowest || record.version !== subject.version) throw outage
  log('warn', 'caller identified from cache', { request_id: scope.requestId, user_id: subject.id, age_s: kept?.ageSeconds })
  return { id: subject.id, role: record.role, user: undefined, outage }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The bearer token of the Authorization header; 401 when there is none. Documented as FastAPI
 * documents `OAuth2PasswordBearer(tokenUrl=...)`: a client (and the docs page) gets the token
 * from the password form at /auth/token.
 */
export const bearerToken = depends({ name: 'bearerToken', security: { name: 'OAuth2PasswordBearer', scheme: { type: 'oauth2', flows: { password: { scopes: {}, tokenUrl: '/auth/token' } } } } }, (_, scope): string => {
  const header = scope.header('authorization')
  const match = header === undefined ? null : /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header)
  if (match === null) throw notAuthenticated()
  return match[1] as string
})

export const currentUser = depends(
  { name: 'currentUser', dependencies: { token: bearerToken, db: dbConn }, lifespans: [auth] },
  async ({ token, db }, scope): Promise<Caller> => {
    const subject = await verifyToken(token, scope.state(auth).jwtSecret)
    if (subject === undefined) throw badCredentials()
    const read = findUserById(db, subject.id)
    // A deleted or deactivated user's token stops working at once, and so does one issued
    // before a change of password, role or active state.
    const checked = (user: UserRecord | undefined): UserRecord => {
      if (user === undefined || !user.is_active || user.token_version !== subject.version) throw badCredentials()
      void scope.keepLastGood(callerKey(user.id), JSON.stringify({ id: user.id, role: user.role, version: user.token_version }), CALLER_RECORD_TTL_MS)
      return user
    }
    const budget = scope.staleBudgetLeftMs()
    // On a route that may answer stale: past the budget, a kept record that answers for the
    // caller ends the wait, so that the route can give a kept answer of its own. The read goes
    // on: if the route has none, it waits for the database after all, and the read decides.
    let kept: Caller | undefined
    if (budget !== undefined && !(await settlesWithin(read, budget))) {
      kept = await keptCaller(scope, subject, UNKNOWN).catch(() => undefined)
      if (kept !== undefined && !(await settlesWithin(read, 0))) {
        const pending = read.then(checked)
        scope.confirmLater(pending)
        return { ...kept, pending }
      }
    }
    let user: UserRecord | undefined
    try {
      user = await read
    } catch (error) {
      if (!(error instanceof DatabaseUnavailable)) throw error
      // The record found at the budget, with the outage it ended in; not looked up a second time.
      return kept === undefined ? keptCaller(scope, subject, error) : { ...kept, outage: error }
    }
    return { id: subject.id, role: checked(user).role, user, outage: undefined }
  },
)

/** The caller's own user record; when it could not be read, the outage (a 503, or a stale answer). */
export async function ownRecord(caller: Caller): Promise<UserRecord> {
  if (caller.user !== undefined) return caller.user
  if (caller.pending !== undefined) return caller.pending
  throw caller.outage ?? new Error('caller has neither a record nor an outage')
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
