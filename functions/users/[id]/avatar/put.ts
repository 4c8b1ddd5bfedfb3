// PUT /users/{id}/avatar: store a user's avatar (raw PNG, JPEG or WebP bytes, at most 1 MiB).
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { currentUser, requireAdminOrSelf } from '../../../../lib/auth/dependencies.ts'
import { dbConn } from '../../../../lib/db/database.ts'
import type { AppEnv } from '../../../../lib/http/env.ts'
import { lambdaFunction } from '../../../../lib/http/lambda.ts'
import { intParam } from '../../../../lib/http/params.ts'
import { describe, needs, validate } from '../../../../lib/http/route.ts'
import { Detail, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, UNAVAILABLE, userNotFound } from '../../../../lib/users/http.ts'
import { putAvatar } from '../../../../lib/users/repository.ts'
import { AVATAR_MAX_BYTES, AVATAR_TYPES } from '../../../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().put(
  '/users/:id/avatar',
  describe({
    summary: 'Store a user’s avatar (raw PNG, JPEG or WebP bytes, at most 1 MiB)',
    tags: ['users'],
    status: 204,
    responses: {
      401: UNAUTHORIZED,
      403: FORBIDDEN,
      404: NOT_FOUND,
      413: { description: 'More than 1 MiB', schema: Detail },
      415: { description: 'Not image/png, image/jpeg or image/webp', schema: Detail },
      503: UNAVAILABLE,
    },
  }),
  needs({ db: dbConn, caller: currentUser }),
  validate({ param: v.object({ id: intParam() }), bytes: { types: AVATAR_TYPES, maxBytes: AVATAR_MAX_BYTES } }),
  async (c) => {
    const { id } = c.req.valid('param')
    const { bytes, contentType } = c.var.rawBody
    requireAdminOrSelf(c.var.caller, id)
    if (!(await putAvatar(c.var.db, id, contentType, bytes))) throw userNotFound()
    return c.body(null, 204)
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
