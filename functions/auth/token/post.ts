// POST /auth/token: sign in (OAuth2 password form) and get an access token.
import { Hono } from 'hono/tiny'
import * as v from 'valibot'
import { authSettings } from '../../../lib/auth/dependencies.ts'
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../../lib/auth/password.ts'
import { signInThrottle } from '../../../lib/auth/throttle.ts'
import { issueToken } from '../../../lib/auth/tokens.ts'
import { dbConn, type Session } from '../../../lib/db/database.ts'
import type { AppEnv } from '../../../lib/http/env.ts'
import { HttpError } from '../../../lib/http/errors.ts'
import { lambdaFunction } from '../../../lib/http/lambda.ts'
import { describe, needs, responds, validate } from '../../../lib/http/route.ts'
import { BEARER_CHALLENGE, Detail, RETRY_AFTER, UNAVAILABLE } from '../../../lib/users/http.ts'
import { findLogin } from '../../../lib/users/repository.ts'

const Token = v.pipe(v.object({ access_token: v.string(), token_type: v.literal('bearer'), expires_in: v.number() }), v.title('Token'))

/** The active user whose password this is, if any. */
async function signsIn(db: Session, username: string, password: string): Promise<{ id: number; tokenVersion: number } | undefined> {
  const found = await findLogin(db, username)
  // The hash needs no connection: others may use it meanwhile (a pool of 2 held across 20
  // hashes at once made the rest wait past their deadline).
  db.releaseConnection()
  // An unknown user costs the same hash as a known one: the timing tells nothing.
  const matches = await verifyPassword(password, found?.passwordHash ?? DUMMY_PASSWORD_HASH)
  return found !== undefined && matches && found.isActive ? found : undefined
}

export const route = new Hono<AppEnv>().post(
  '/auth/token',
  describe({
    summary: 'Sign in (OAuth2 password form) and get an access token',
    tags: ['auth'],
    responses: {
      401: { description: 'Incorrect username or password', schema: Detail, headers: { 'WWW-Authenticate': BEARER_CHALLENGE } },
      429: { description: 'Too many failed sign-ins for the username, or from the address', schema: Detail, headers: { 'Retry-After': RETRY_AFTER } },
      503: UNAVAILABLE,
    },
  }),
  // Any text signs in or not: a username with a NUL is no one's (findLogin), so 401, not 422.
  validate({ form: v.object({ username: v.string(), password: v.string() }), allowNul: true }),
  needs({ db: dbConn, settings: authSettings, throttle: signInThrottle }),
  responds(Token),
  async (c) => {
    const { username, password } = c.req.valid('form')
    // Counted before the password is checked: over a limit, 429 (lib/auth/throttle.ts).
    const attempt = await c.var.throttle.attempt(username)
    const user = await signsIn(c.var.db, username, password).catch(async (error: unknown) => {
      await attempt.undecided()
      throw error
    })
    if (user === undefined) throw new HttpError(401, 'Incorrect username or password', { 'www-authenticate': 'Bearer' })
    await attempt.succeeded()
    const token = await issueToken({ id: user.id, version: user.tokenVersion }, c.var.settings.jwtSecret, c.var.settings.tokenTtlSeconds)
    return c.var.respond({ access_token: token.accessToken, token_type: 'bearer', expires_in: token.expiresIn })
  },
)

/** Password hashing (scrypt, 32 MiB and ~80 ms of a full core per hash) wants the CPU that comes with memory. */
export const config = { memoryMb: 1024 }

export const { handler, shutdown, app } = await lambdaFunction(route)
