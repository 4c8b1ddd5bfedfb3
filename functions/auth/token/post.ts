// POST /auth/token: sign in (OAuth2 password form) and get an access token.
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { authSettings } from '../../../lib/auth/dependencies.ts'
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../../lib/auth/password.ts'
import { issueToken } from '../../../lib/auth/tokens.ts'
import { dbConn } from '../../../lib/db/database.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { HttpError } from '../../../lib/http/errors.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { describe, needs, responds, validate } from '../../../lib/http/route.ts'
import { Detail, UNAVAILABLE } from '../../../lib/users/http.ts'
import { findLogin } from '../../../lib/users/repository.ts'

const Token = v.object({ access_token: v.string(), token_type: v.literal('bearer'), expires_in: v.number() })

export const route = new Hono<AppEnv>().post(
  '/auth/token',
  describe({
    summary: 'Sign in (OAuth2 password form) and get an access token',
    tags: ['auth'],
    responses: { 401: { description: 'Incorrect username or password', schema: Detail }, 503: UNAVAILABLE },
  }),
  // Any text signs in or not: a username with a NUL is no one's (findLogin), so 401, not 422.
  validate({ form: v.object({ username: v.string(), password: v.string() }), allowNul: true }),
  needs({ db: dbConn, settings: authSettings }),
  responds(Token),
  async (c) => {
    const { username, password } = c.req.valid('form')
    const found = await findLogin(c.var.db, username)
    // An unknown user costs the same hash as a known one: the timing tells nothing.
    const matches = await verifyPassword(password, found?.passwordHash ?? DUMMY_PASSWORD_HASH)
    if (found === undefined || !matches || !found.isActive) {
      throw new HttpError(401, 'Incorrect username or password', { 'www-authenticate': 'Bearer' })
    }
    const token = await issueToken({ id: found.id, version: found.tokenVersion }, c.var.settings.jwtSecret, c.var.settings.tokenTtlSeconds)
    return c.var.respond({ access_token: token.accessToken, token_type: 'bearer', expires_in: token.expiresIn })
  },
)

/** Password hashing (scrypt, 32 MiB and ~80 ms of a full core per hash) wants the CPU that comes with memory. */
export const config = { memoryMb: 1024 }

export const { handler, shutdown, app } = await lambdaFunction(route)
