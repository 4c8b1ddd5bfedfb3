// GET /users/{id}: read a user (a super_admin any, a user themselves).
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { adminOrSelfAuthority, currentUser, requireAdminOrSelf } from '../../../lib/auth/dependencies.ts'
import { dbConn } from '../../../lib/db/database.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { intParam } from '../../../lib/http/params.ts'
import { describe, needs, responds, staleFallback, validate } from '../../../lib/http/route.ts'
import { FORBIDDEN, NOT_FOUND, pathUserWithCaller, UNAUTHORIZED, UNAVAILABLE, userNotFound } from '../../../lib/users/http.ts'
import { findUserById } from '../../../lib/users/repository.ts'
import { User } from '../../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().get(
  '/users/:id',
  describe({
    summary: 'Read a user (a super_admin any, a user themselves)',
    tags: ['users'],
    responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE },
  }),
  // The user is read with the caller, in one statement: one round trip, not two.
  needs({ db: dbConn, pathUser: pathUserWithCaller, caller: currentUser }),
  validate({ param: v.object({ id: intParam() }) }),
  staleFallback(adminOrSelfAuthority),
  responds(User),
  async (c) => {
    const { id } = c.req.valid('param')
    // Checked before any read: the answer is the same with the database down.
    requireAdminOrSelf(c.var.caller, id)
    // Oneself: the caller's record, read for this request, is the answer.
    const own = c.var.caller.user
    const user = own?.id === id ? own : await findUserById(c.var.db, id)
    if (!user) throw userNotFound()
    return c.var.respond(user)
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
