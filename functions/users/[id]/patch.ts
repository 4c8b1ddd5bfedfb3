// PATCH /users/{id}: change a user (a super_admin anything; a user their own email, full name and password).
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { callerRecords, currentUser, forbidden, requireAdminOrSelf } from '../../../lib/auth/dependencies.ts'
import { hashPassword } from '../../../lib/auth/password.ts'
import { dbConn } from '../../../lib/db/database.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { intParam } from '../../../lib/http/params.ts'
import { describe, needs, responds, validate } from '../../../lib/http/route.ts'
import { CONFLICT, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, UNAVAILABLE, unique, userNotFound } from '../../../lib/users/http.ts'
import { updateUser } from '../../../lib/users/repository.ts'
import { User, UserChanges } from '../../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().patch(
  '/users/:id',
  describe({
    summary: 'Change a user (a super_admin anything; a user their own email, full name and password)',
    tags: ['users'],
    responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE },
  }),
  needs({ db: dbConn, caller: currentUser, records: callerRecords }),
  validate({ param: v.object({ id: intParam() }), json: UserChanges }),
  responds(User),
  async (c) => {
    const { id } = c.req.valid('param')
    const body = c.req.valid('json')
    const { caller } = c.var
    requireAdminOrSelf(caller, id)
    if (caller.role !== 'super_admin' && (body.role !== undefined || body.is_active !== undefined)) throw forbidden()
    const user = await unique(
      updateUser(c.var.db, id, {
        ...(body.email === undefined ? {} : { email: body.email }),
        ...(body.full_name === undefined ? {} : { fullName: body.full_name }),
        ...(body.password === undefined ? {} : { passwordHash: await hashPassword(body.password) }),
        ...(body.role === undefined ? {} : { role: body.role }),
        ...(body.is_active === undefined ? {} : { isActive: body.is_active }),
      }),
    )
    if (user === undefined) throw userNotFound()
    // The user's tokens before this change have ended: so has what was kept of their rights.
    if (body.password !== undefined || body.role !== undefined || body.is_active !== undefined) await c.var.records.withdraw(id, user.token_version)
    return c.var.respond(user)
  },
)

/** Password hashing (scrypt, 32 MiB and ~80 ms of a full core per hash) wants the CPU that comes with memory. */
export const config = { memoryMb: 1024 }

export const { handler, shutdown, app } = await lambdaFunction(route)
