// GET /users/me: the caller's own user.
import { Hono } from 'hono/tiny'
import { currentUser, ownRecord, selfAuthority } from '../../../lib/auth/dependencies.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { describe, needs, responds, staleFallback } from '../../../lib/http/route.ts'
import { UNAUTHORIZED, UNAVAILABLE } from '../../../lib/users/http.ts'
import { User } from '../../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().get(
  '/users/me',
  describe({ summary: 'The caller’s own user', tags: ['users'], responses: { 401: UNAUTHORIZED, 503: UNAVAILABLE } }),
  needs({ caller: currentUser }),
  staleFallback(selfAuthority),
  responds(User),
  async (c) => c.var.respond(await ownRecord(c.var.caller)),
)

export const { handler, shutdown, app } = await lambdaFunction(route)
