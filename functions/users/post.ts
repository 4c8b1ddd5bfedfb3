// POST /users: create a user (a super_admin only).
import { Hono } from 'hono/tiny'
import { superAdmin } from '../../lib/auth/dependencies.ts'
import { hashPassword } from '../../lib/auth/password.ts'
import { dbConn } from '../../lib/db/database.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction } from '../../lib/http/lambda.ts'
import { describe, needs, responds, validate } from '../../lib/http/route.ts'
import { CONFLICT, CREATED, FORBIDDEN, UNAUTHORIZED, UNAVAILABLE, unique } from '../../lib/users/http.ts'
import { insertUser } from '../../lib/users/repository.ts'
import { NewUser, User } from '../../lib/users/schema.ts'

export const route = new Hono<AppEnv>().post(
  '/users',
  describe({ summary: 'Create a user', tags: ['users'], responses: { 201: CREATED, 401: UNAUTHORIZED, 403: FORBIDDEN, 409: CONFLICT, 503: UNAVAILABLE } }),
  needs({ db: dbConn, admin: superAdmin }),
  validate({ json: NewUser }),
  responds(User, 201),
  async (c) => {
    const body = c.req.valid('json')
    const user = await unique(
      insertUser(c.var.db, {
        username: body.username,
        email: body.email,
        passwordHash: await hashPassword(body.password),
        fullName: body.full_name ?? null,
        role: body.role ?? 'user',
      }),
    )
    c.header('location', `/users/${user.id}`)
    return c.var.respond(user)
  },
)

/** Password hashing (scrypt, 32 MiB and ~80 ms of a full core per hash) wants the CPU that comes with memory. */
export const config = { memoryMb: 1024 }

export const { handler, shutdown, app } = await lambdaFunction(route)
