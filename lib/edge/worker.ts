/**
 * The same routes as a Workers (workerd) module: `export default worker`.
 *
 * On Workers one isolate serves many requests at once and I/O objects may not outlive the
 * request that made them; Neon's guidance is that a `Pool` must not be shared across
 * requests. So each request gets an app of its own: its lifespans start (the pool is created,
 * no connection yet), the request is served, and the shutdown (closing the pool) runs after
 * the response under `waitUntil`. What may be shared is: the stale cache, kept per isolate, and
 * the count of requests served, so that only the isolate's first answer says `x-cold-start`.
 */
import type { ExecutionContext } from 'hono'
import { log } from '../log.ts'
import { createApp, type KnownRoute } from '../http/app.ts'
import { JSON_TYPE } from '../http/reply.ts'
import type { Route } from '../http/route.ts'
import { StaleCache } from '../http/stale-cache.ts'

export interface EdgeWorker {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response>
}

/** Worker bindings as configuration: the string ones (vars and secrets). */
function stringBindings(env: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') out[name] = value
  return out
}

export function edgeWorker(routes: readonly Route[], options: { knownRoutes?: readonly KnownRoute[] } = {}): EdgeWorker {
  const cache = new StaleCache()
  const instance = { served: 0 }
  return {
    async fetch(request, env, ctx) {
      const app = createApp({ routes, env: stringBindings(env), cache, instance, ...(options.knownRoutes ? { knownRoutes: options.knownRoutes } : {}) })
      try {
        await app.startup()
      } catch (error) {
        // Configuration that is missing or wrong: logged with its reason, answered as the contract's 500.
        log('error', 'worker startup failed', { error })
        ctx.waitUntil(app.shutdown().catch(() => undefined))
        return new Response(JSON.stringify({ detail: 'Internal Server Error' }), { status: 500, headers: { 'content-type': JSON_TYPE } })
      }
      try {
        return await app.hono.fetch(request, env, ctx)
      } finally {
        ctx.waitUntil(app.shutdown())
      }
    },
  }
}
