/**
 * The same routes as a Workers (workerd) module: `export default worker`.
 *
 * On Workers one isolate serves many requests at once and I/O objects may not outlive the
 * request that made them; Neon's guidance is that a `Pool` must not be shared across
 * requests. So the app starts its lifespans for each request, with the request's bindings
 * (the pool is created, no connection yet), and stops them after the response under
 * `waitUntil`. What the isolate shares is the app (its routes and middleware), the stale
 * cache, and the count of requests served, so that only its first answer says `x-cold-start`.
 *
 * What the app itself reads of the configuration (the CORS policy) comes from the Worker's
 * bindings, which functions/_edge.ts passes from the first request: they are the same for
 * every request of a deployment, and a Worker's `process.env` holds them only on some
 * compatibility dates.
 */
import type { ExecutionContext, Hono } from 'hono'
import { createApp, stringBindings, type AppEnv, type KnownRoute } from '../http/app.ts'

export interface EdgeWorker {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response>
}

export interface EdgeWorkerOptions {
  readonly knownRoutes?: readonly KnownRoute[]
  /** The Worker's bindings (vars and secrets); none unless given. */
  readonly bindings?: Record<string, unknown>
}

export function edgeWorker(routes: Hono<AppEnv> | readonly Hono<AppEnv>[], options: EdgeWorkerOptions = {}): EdgeWorker {
  const app = createApp({ routes, env: stringBindings(options.bindings), lifespansPerRequest: true, ...(options.knownRoutes ? { knownRoutes: options.knownRoutes } : {}) })
  return {
    fetch: async (request, env, ctx) => app.hono.fetch(request, env as never, ctx),
  }
}
