// Written by `npm run routes` from functions/ (lib/dev/routes.ts): do not edit.
import type { Hono } from 'hono'
import type { ExtractSchema } from 'hono/types'
import type { AppEnv } from '../http/env.ts'
import type { route as r0 } from '../../functions/auth/token/post.ts'
import type { route as r1 } from '../../functions/docs/get.ts'
import type { route as r2 } from '../../functions/docs/[file]/get.ts'
import type { route as r3 } from '../../functions/health/get.ts'
import type { route as r4 } from '../../functions/openapi.json/get.ts'
import type { route as r5 } from '../../functions/users/get.ts'
import type { route as r6 } from '../../functions/users/me/get.ts'
import type { route as r7 } from '../../functions/users/post.ts'
import type { route as r8 } from '../../functions/users/[id]/avatar/get.ts'
import type { route as r9 } from '../../functions/users/[id]/avatar/put.ts'
import type { route as r10 } from '../../functions/users/[id]/delete.ts'
import type { route as r11 } from '../../functions/users/[id]/get.ts'
import type { route as r12 } from '../../functions/users/[id]/patch.ts'

/** The whole API as one Hono app type, for `hc<Api>()` and `testClient`. */
export type Api = Hono<AppEnv, ExtractSchema<typeof r0> & ExtractSchema<typeof r1> & ExtractSchema<typeof r2> & ExtractSchema<typeof r3> & ExtractSchema<typeof r4> & ExtractSchema<typeof r5> & ExtractSchema<typeof r6> & ExtractSchema<typeof r7> & ExtractSchema<typeof r8> & ExtractSchema<typeof r9> & ExtractSchema<typeof r10> & ExtractSchema<typeof r11> & ExtractSchema<typeof r12>>

/** Every route, loaded on demand (the Worker serves them all from one module). */
export async function loadRoutes(): Promise<Hono<AppEnv>[]> {
  const modules = await Promise.all([
    import('../../functions/auth/token/post.ts'),
    import('../../functions/docs/get.ts'),
    import('../../functions/docs/[file]/get.ts'),
    import('../../functions/health/get.ts'),
    import('../../functions/openapi.json/get.ts'),
    import('../../functions/users/get.ts'),
    import('../../functions/users/me/get.ts'),
    import('../../functions/users/post.ts'),
    import('../../functions/users/[id]/avatar/get.ts'),
    import('../../functions/users/[id]/avatar/put.ts'),
    import('../../functions/users/[id]/delete.ts'),
    import('../../functions/users/[id]/get.ts'),
    import('../../functions/users/[id]/patch.ts'),
  ])
  return modules.map((module) => module.route as unknown as Hono<AppEnv>)
}
