import { Hono } from 'hono'
import type { Pool } from '../db/pool.ts'
import { notFound, onError } from './errors.ts'

/** What the instance holds for its whole life (its lifespan state), shared by requests. */
export interface AppState {
  readonly pool: Pool
}

export interface AppEnv {
  Variables: { state: AppState }
}

/** One Hono app serving the given route groups, each request seeing the instance state. */
export function createApp(state: AppState, routes: readonly Hono<AppEnv>[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.use(async function provideState(c, next) {
    c.set('state', state)
    await next()
  })
  for (const group of routes) app.route('/', group)
  app.notFound(notFound)
  app.onError(onError)
  return app
}
