// GET /users/{id}/avatar: a user's avatar, the bytes as they were stored, to any signed-in user.
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { currentUser } from '../../../../lib/auth/dependencies.ts'
import { dbConn } from '../../../../lib/db/database.ts'
import type { AppEnv } from '../../../../lib/http/env.ts'
import { HttpError } from '../../../../lib/http/errors.ts'
import { lambdaFunction } from '../../../../lib/http/lambda.ts'
import { intParam } from '../../../../lib/http/params.ts'
import { describe, needs, validate } from '../../../../lib/http/route.ts'
import { Detail, UNAUTHORIZED, UNAVAILABLE } from '../../../../lib/users/http.ts'
import { findAvatar } from '../../../../lib/users/repository.ts'
import { AVATAR_TYPES } from '../../../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().get(
  '/users/:id/avatar',
  describe({
    summary: 'A user’s avatar, the bytes as they were stored',
    tags: ['users'],
    responses: {
      200: { description: 'The image, with the media type it was stored with', mediaTypes: AVATAR_TYPES },
      401: UNAUTHORIZED,
      404: { description: 'No avatar (or no such user)', schema: Detail },
      503: UNAVAILABLE,
    },
  }),
  needs({ db: dbConn, caller: currentUser }),
  validate({ param: v.object({ id: intParam() }) }),
  async (c) => {
    const avatar = await findAvatar(c.var.db, c.req.valid('param').id)
    if (avatar === undefined) throw new HttpError(404, 'Avatar not found')
    return c.body(new Uint8Array(avatar.data), 200, { 'content-type': avatar.contentType, 'content-length': String(avatar.data.byteLength) })
  },
)

export const { handler, shutdown, app } = await lambdaFunction(route)
