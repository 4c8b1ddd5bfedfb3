/**
 * The CORS policy (cors-policy.ts) as Hono middleware: hono/cors, given the policy's origins,
 * methods, headers and max-age. The app installs it only when `CORS_ORIGINS` names an origin,
 * so that by default nothing runs for it; and it loads hono/cors with the first request it
 * sees, so that no function's bundle carries it at start (the build puts it in a chunk of its
 * own, as it does the Redis client).
 */
import type { MiddlewareHandler } from 'hono'
import type { CorsPolicy } from './cors-policy.ts'

export function corsMiddleware(policy: CorsPolicy): MiddlewareHandler {
  let loading: Promise<MiddlewareHandler> | undefined
  const load = async () => {
    const { cors } = await import('hono/cors')
    return cors({
      origin: policy.origins[0] === '*' ? '*' : [...policy.origins],
      allowMethods: [...policy.methods],
      allowHeaders: [...policy.allowHeaders],
      exposeHeaders: [...policy.exposeHeaders],
      maxAge: policy.maxAgeSeconds,
    })
  }
  return async function corsPolicy(c, next) {
    return (await (loading ??= load()))(c, next)
  }
}
