/**
 * The service's routes by name, for tests that serve some of them in a function of their own:
 * the `route` each file of functions/ exports (importing one off Lambda starts nothing).
 */
export { route as login } from '../../functions/auth/token/post.ts'
export { route as health } from '../../functions/health/get.ts'
export { route as getMe } from '../../functions/users/me/get.ts'
export { route as listUsersRoute } from '../../functions/users/get.ts'
export { route as createUserRoute } from '../../functions/users/post.ts'
export { route as getUser } from '../../functions/users/[id]/get.ts'
export { route as patchUser } from '../../functions/users/[id]/patch.ts'
export { route as deleteUserRoute } from '../../functions/users/[id]/delete.ts'
export { route as putAvatarRoute } from '../../functions/users/[id]/avatar/put.ts'
export { route as getAvatar } from '../../functions/users/[id]/avatar/get.ts'
