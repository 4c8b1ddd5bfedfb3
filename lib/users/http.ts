/**
 * What the users routes (functions/users/, functions/auth/) share: the documented error
 * answers, and the 409 for a username or email another user has.
 */
import * as v from 'valibot'
import { HttpError } from '../http/errors.ts'
import type { ResponseDoc } from '../http/declarations.ts'
import { DuplicateUser } from './repository.ts'

export const Detail = v.object({ detail: v.string() })

export const UNAUTHORIZED: ResponseDoc = { description: 'No token, or a token that is bad, expired, or of a user who is gone or inactive', schema: Detail }
export const FORBIDDEN: ResponseDoc = { description: 'The caller’s role may not do this', schema: Detail }
export const NOT_FOUND: ResponseDoc = { description: 'No user has this id', schema: Detail }
export const CONFLICT: ResponseDoc = { description: 'The username or the email is taken', schema: Detail }
export const UNAVAILABLE: ResponseDoc = { description: 'The database did not answer and no earlier answer is held (Retry-After says when to try again)' }

export const userNotFound = () => new HttpError(404, 'User not found')

/** 409 for a username or email that another user has; anything else as it was. */
export async function unique<T>(write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (error instanceof DuplicateUser) throw new HttpError(409, error.field === 'email' ? 'Email already registered' : 'Username already taken')
    throw error
  }
}
