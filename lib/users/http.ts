/**
 * What the users routes (functions/users/, functions/auth/) share: the documented error
 * answers, and the 409s (a username or email another user has, the last super_admin).
 */
import { HTTPError } from '../http/error-body.ts'
import { dbConn } from '../db/database.ts'
import { depends } from '../http/depends.ts'
import { HttpError } from '../http/errors.ts'
import type { HeaderDoc, ResponseDoc } from '../http/declarations.ts'
import { DuplicateUser, expectUser, LastSuperAdmin } from './repository.ts'

/** The body of every error but a 422: `HTTPException`'s. */
export const Detail = HTTPError

export const BEARER_CHALLENGE: HeaderDoc = { description: 'How to authenticate: `Bearer`', required: true, schema: { type: 'string', const: 'Bearer' } }
export const RETRY_AFTER: HeaderDoc = { description: 'Seconds to wait before trying again', required: true, schema: { type: 'integer', minimum: 0 } }

export const UNAUTHORIZED: ResponseDoc = {
  description: 'No token, or a token that is bad, expired, of a user who is gone or inactive, or issued before a change of their password, role or active state',
  schema: Detail,
  headers: { 'WWW-Authenticate': BEARER_CHALLENGE },
}
export const FORBIDDEN: ResponseDoc = { description: 'The caller’s role may not do this', schema: Detail }
export const NOT_FOUND: ResponseDoc = { description: 'No user has this id', schema: Detail }
export const CONFLICT: ResponseDoc = { description: 'The username or the email is taken, or the change would leave no active super_admin', schema: Detail }
export const UNAVAILABLE: ResponseDoc = {
  description: 'The database did not answer, and no earlier answer to this request, for these rights, is held',
  schema: Detail,
  headers: { 'Retry-After': RETRY_AFTER },
}
export const CREATED: ResponseDoc = {
  description: 'Created',
  headers: { Location: { description: 'The new user’s URL, `/users/{id}`', required: true, schema: { type: 'string' } } },
}

export const userNotFound = () => new HttpError(404, 'User not found')

/**
 * 409 for a username or email that another user has, or for a change that would leave no
 * active super_admin; anything else as it was.
 */
export async function unique<T>(write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (error instanceof DuplicateUser) throw new HttpError(409, error.field === 'email' ? 'Email already registered' : 'Username already taken')
    if (error instanceof LastSuperAdmin) throw new HttpError(409, 'The last active super_admin cannot be deleted, deactivated or demoted')
    throw error
  }
}

/**
 * For a route that reads the user its path names (`/users/{id}`): that row is read with the
 * caller's, in one statement, before the route decides what the caller may see of it
 * (`expectUser`). Put it before `currentUser` in `needs()`; its value is the id, or undefined
 * for a path that names none (validation answers 422 then).
 */
export const pathUserWithCaller = depends({ name: 'pathUserWithCaller', dependencies: { db: dbConn } }, ({ db }, scope): number | undefined => {
  const id = Number(scope.context.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) return undefined
  expectUser(db, id)
  return id
})
