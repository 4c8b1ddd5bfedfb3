/**
 * The users service of `../shared/API.md`, built only from route definitions, dependencies
 * and the database layer: `dbConn` → `currentUser` → `superAdmin`, as in the seed.
 */
import * as v from 'valibot'
import { adminOrSelfAuthority, authSettings, currentUser, forbidden, ownRecord, selfAuthority, superAdmin, superAdminAuthority } from '../auth/dependencies.ts'
import { DUMMY_PASSWORD_HASH, verifyPassword } from '../auth/password.ts'
import { issueToken } from '../auth/tokens.ts'
import { dbConn } from '../db/database.ts'
import { HttpError } from '../http/errors.ts'
import { intParam } from '../http/params.ts'
import { route } from '../http/route.ts'
import { findLogin, findUserById, listUsers } from './repository.ts'
import { User } from './schema.ts'

const Detail = v.object({ detail: v.string() })

const UNAUTHORIZED = { description: 'No token, or a token that is bad, expired, or of a user who is gone or inactive', schema: Detail }
const FORBIDDEN = { description: 'The caller’s role may not do this', schema: Detail }
const UNAVAILABLE = { description: 'The database did not answer and no earlier answer is held (Retry-After says when to try again)' }

const Token = v.object({ access_token: v.string(), token_type: v.literal('bearer'), expires_in: v.number() })

export const login = route({
  method: 'POST',
  path: '/auth/token',
  summary: 'Sign in (OAuth2 password form) and get an access token',
  tags: ['auth'],
  body: { kind: 'form', schema: v.object({ username: v.string(), password: v.string() }) },
  dependencies: { db: dbConn, settings: authSettings },
  response: Token,
  responses: { 401: { description: 'Incorrect username or password', schema: Detail }, 503: UNAVAILABLE },
  async handler({ body, deps }) {
    const found = await findLogin(deps.db, body.username)
    // An unknown user costs the same hash as a known one: the timing tells nothing.
    const matches = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH)
    if (found === undefined || !matches || !found.isActive) {
      throw new HttpError(401, 'Incorrect username or password', { 'www-authenticate': 'Bearer' })
    }
    const { jwtSecret, tokenTtlSeconds } = deps.settings
    const token = await issueToken(found.id, jwtSecret, tokenTtlSeconds)
    return { access_token: token.accessToken, token_type: 'bearer' as const, expires_in: token.expiresIn }
  },
})

export const getMe = route({
  method: 'GET',
  path: '/users/me',
  summary: 'The caller’s own user',
  tags: ['users'],
  dependencies: { caller: currentUser },
  response: User,
  responses: { 401: UNAUTHORIZED, 503: UNAVAILABLE },
  fallback: { authority: selfAuthority },
  handler: ({ deps }) => ownRecord(deps.caller),
})

const UserPage = v.object({ items: v.array(User), page: v.number(), results_per_page: v.number(), total: v.number() })

export const listUsersRoute = route({
  method: 'GET',
  path: '/users',
  summary: 'List active users, a page at a time, optionally searched',
  tags: ['users'],
  query: v.object({
    page: v.optional(intParam({ min: 1, max: 2_147_483_647 }), '1'),
    results_per_page: v.optional(intParam({ min: 1, max: 100 }), '13'),
    search: v.optional(v.pipe(v.string(), v.maxLength(254)), ''),
  }),
  dependencies: { db: dbConn, admin: superAdmin },
  response: UserPage,
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 503: UNAVAILABLE },
  fallback: { authority: superAdminAuthority },
  async handler({ query, deps }) {
    const { items, total } = await listUsers(deps.db, query.page, query.results_per_page, query.search)
    return { items, page: query.page, results_per_page: query.results_per_page, total }
  },
})

export const getUser = route({
  method: 'GET',
  path: '/users/{id}',
  summary: 'Read a user (a super_admin any, a user themselves)',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  dependencies: { db: dbConn, caller: currentUser },
  response: User,
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: { description: 'No user has this id', schema: Detail }, 503: UNAVAILABLE },
  fallback: { authority: adminOrSelfAuthority },
  async handler({ params, deps }) {
    const { caller } = deps
    // Checked before any read: the answer is the same with the database down.
    if (caller.role !== 'super_admin' && caller.id !== params.id) throw forbidden()
    const user = await findUserById(deps.db, params.id)
    if (!user) throw new HttpError(404, 'User not found')
    return user
  },
})
