import * as v from 'valibot'
import { dbConn } from '../db/database.ts'
import { HttpError } from '../http/errors.ts'
import { intParam } from '../http/params.ts'
import { route } from '../http/route.ts'
import { findUserById } from './repository.ts'
import { User } from './schema.ts'

const NotFound = v.object({ detail: v.string() })

export const getUser = route({
  method: 'GET',
  path: '/users/{id}',
  summary: 'Read a user',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  dependencies: { db: dbConn },
  response: User,
  responses: {
    404: { description: 'No user has this id', schema: NotFound },
    503: { description: 'The database did not answer and no earlier answer is held (Retry-After says when to try again)' },
  },
  // Before sign-in exists this read is public; issue 5 gives it the caller's authority.
  fallback: {},
  async handler({ params, deps }) {
    const user = await findUserById(deps.db, params.id)
    if (!user) throw new HttpError(404, 'User not found')
    return user
  },
})
