// DELETE /users/{id}: delete a user (a super_admin only).
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { callerRecords, superAdmin } from '../../../lib/auth/dependencies.ts'
import { dbConn } from '../../../lib/db/database.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { intParam } from '../../../lib/http/params.ts'
import { describe, needs, validate } from '../../../lib/http/route.ts'
import { CONFLICT, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, UNAVAILABLE, unique, userNotFound } from '../../../lib/users/http.ts'
import { deleteUser } from '../../../lib/users/repository.ts'

export const route = new Hono<AppEnv>().delete(
  '/users/:id',
  describe({ summary: 'Delete a user', tags: ['users'], status: 204, responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE } }),
  needs({ db: dbConn, admin: superAdmin, records: callerRecords }),
  validate({ param: v.object({ id: intParam() }) }),
  async (c) => {
    const { id } = c.req.valid('param')
    if (!(await unique(deleteUser(c.var.db, id)))) throw userNotFound()
    await c.var.records.withdraw(id)
    return c.body(null, 204)
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
