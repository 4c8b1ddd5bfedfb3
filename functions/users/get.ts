// GET /users: active users, a page at a time, optionally searched (a super_admin only).
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { superAdmin, superAdminAuthority } from '../../lib/auth/dependencies.ts'
import { dbConn } from '../../lib/db/database.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { intParam } from '../../lib/http/params.ts'
import { describe, needs, responds, staleFallback, validate } from '../../lib/http/route.ts'
import { maxChars } from '../../lib/http/text-length.ts'
import { FORBIDDEN, UNAUTHORIZED, UNAVAILABLE } from '../../lib/users/http.ts'
import { listUsers } from '../../lib/users/repository.ts'
import { UserPage } from '../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().get(
  '/users',
  describe({
    summary: 'List active users, a page at a time, optionally searched',
    tags: ['users'],
    responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 503: UNAVAILABLE },
  }),
  needs({ db: dbConn, admin: superAdmin }),
  validate({
    query: v.object({
      page: v.optional(intParam({ min: 1, max: 2_147_483_647 }), '1'),
      results_per_page: v.optional(intParam({ min: 1, max: 100 }), '13'),
      search: v.optional(v.pipe(v.string(), maxChars(254)), ''),
    }),
  }),
  staleFallback(superAdminAuthority),
  responds(UserPage),
  async (c) => {
    const { page, results_per_page, search } = c.req.valid('query')
    const { items, total } = await listUsers(c.var.db, page, results_per_page, search)
    return c.var.respond({ items, page, results_per_page, total })
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
