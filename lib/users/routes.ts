/**
 * The users service of `../shared/API.md`, built only from route definitions, dependencies
 * and the database layer: `dbConn` → `currentUser` → `superAdmin`, as in the seed.
 */
import * as v from 'valibot'
import {
  adminOrSelfAuthority,
  authSettings,
  currentUser,
  forbidden,
  ownRecord,
  requireAdminOrSelf,
  selfAuthority,
  superAdmin,
  superAdminAuthority,
} from '../auth/dependencies.ts'
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../auth/password.ts'
import { issueToken } from '../auth/tokens.ts'
import { dbConn } from '../db/database.ts'
import { HttpError } from '../http/errors.ts'
import { intParam } from '../http/params.ts'
import { route } from '../http/route.ts'
import {
  deleteUser,
  DuplicateUser,
  findAvatar,
  findLogin,
  findUserById,
  insertUser,
  listUsers,
  putAvatar,
  updateUser,
} from './repository.ts'
import { AVATAR_MAX_BYTES, AVATAR_TYPES, NewUser, User, UserChanges } from './schema.ts'

const Detail = v.object({ detail: v.string() })

const UNAUTHORIZED = { description: 'No token, or a token that is bad, expired, or of a user who is gone or inactive', schema: Detail }
const FORBIDDEN = { description: 'The caller’s role may not do this', schema: Detail }
const NOT_FOUND = { description: 'No user has this id', schema: Detail }
const CONFLICT = { description: 'The username or the email is taken', schema: Detail }
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
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE },
  fallback: { authority: adminOrSelfAuthority },
  async handler({ params, deps }) {
    const { caller } = deps
    // Checked before any read: the answer is the same with the database down.
    requireAdminOrSelf(caller, params.id)
    const user = await findUserById(deps.db, params.id)
    if (!user) throw new HttpError(404, 'User not found')
    return user
  },
})

const userNotFound = () => new HttpError(404, 'User not found')

/** 409 for a username or email that another user has; anything else as it was. */
async function unique<T>(write: Promise<T>): Promise<T> {
  try {
    return await write
  } catch (error) {
    if (error instanceof DuplicateUser) throw new HttpError(409, error.field === 'email' ? 'Email already registered' : 'Username already taken')
    throw error
  }
}

export const createUser = route({
  method: 'POST',
  path: '/users',
  summary: 'Create a user',
  tags: ['users'],
  body: { kind: 'json', schema: NewUser },
  dependencies: { db: dbConn, admin: superAdmin },
  status: 201,
  response: User,
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 409: CONFLICT, 503: UNAVAILABLE },
  async handler({ body, deps, scope }) {
    const user = await unique(
      insertUser(deps.db, {
        username: body.username,
        email: body.email,
        passwordHash: await hashPassword(body.password),
        fullName: body.full_name ?? null,
        role: body.role ?? 'user',
      }),
    )
    scope.responseHeaders.set('location', `/users/${user.id}`)
    return user
  },
})

export const patchUser = route({
  method: 'PATCH',
  path: '/users/{id}',
  summary: 'Change a user (a super_admin anything; a user their own email, full name and password)',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  body: { kind: 'json', schema: UserChanges },
  dependencies: { db: dbConn, caller: currentUser },
  response: User,
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT, 503: UNAVAILABLE },
  async handler({ params, body, deps }) {
    const { caller } = deps
    requireAdminOrSelf(caller, params.id)
    if (caller.role !== 'super_admin' && (body.role !== undefined || body.is_active !== undefined)) throw forbidden()
    const user = await unique(
      updateUser(deps.db, params.id, {
        ...(body.email === undefined ? {} : { email: body.email }),
        ...(body.full_name === undefined ? {} : { fullName: body.full_name }),
        ...(body.password === undefined ? {} : { passwordHash: await hashPassword(body.password) }),
        ...(body.role === undefined ? {} : { role: body.role }),
        ...(body.is_active === undefined ? {} : { isActive: body.is_active }),
      }),
    )
    if (user === undefined) throw userNotFound()
    return user
  },
})

export const deleteUserRoute = route({
  method: 'DELETE',
  path: '/users/{id}',
  summary: 'Delete a user',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  dependencies: { db: dbConn, admin: superAdmin },
  status: 204,
  responses: { 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 503: UNAVAILABLE },
  async handler({ params, deps }) {
    if (!(await deleteUser(deps.db, params.id))) throw userNotFound()
  },
})

export const putAvatarRoute = route({
  method: 'PUT',
  path: '/users/{id}/avatar',
  summary: 'Store a user’s avatar (raw PNG, JPEG or WebP bytes, at most 1 MiB)',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  body: { kind: 'bytes', types: AVATAR_TYPES, maxBytes: AVATAR_MAX_BYTES },
  dependencies: { db: dbConn, caller: currentUser },
  status: 204,
  responses: {
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    413: { description: 'More than 1 MiB', schema: Detail },
    415: { description: 'Not image/png, image/jpeg or image/webp', schema: Detail },
    503: UNAVAILABLE,
  },
  async handler({ params, body, deps }) {
    const { caller } = deps
    requireAdminOrSelf(caller, params.id)
    if (!(await putAvatar(deps.db, params.id, body.contentType, body.bytes))) throw userNotFound()
  },
})

export const getAvatar = route({
  method: 'GET',
  path: '/users/{id}/avatar',
  summary: 'A user’s avatar, the bytes as they were stored',
  tags: ['users'],
  params: v.object({ id: intParam() }),
  dependencies: { db: dbConn, caller: currentUser },
  responses: {
    200: { description: 'The image', contentType: 'image/*' },
    401: UNAUTHORIZED,
    404: { description: 'No avatar (or no such user)', schema: Detail },
    503: UNAVAILABLE,
  },
  async handler({ params, deps }) {
    const avatar = await findAvatar(deps.db, params.id)
    if (avatar === undefined) throw new HttpError(404, 'Avatar not found')
    return new Response(new Uint8Array(avatar.data), { headers: { 'content-type': avatar.contentType, 'content-length': String(avatar.data.byteLength) } })
  },
})
