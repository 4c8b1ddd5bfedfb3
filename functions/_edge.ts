// Every route in one Workers module (workerd): deployed by sst.cloudflare.Worker, built by
// `npm run build` as dist/functions/_edge.mjs.
//
// The routes are loaded on the first request rather than at module load: workerd refuses some
// work in the global scope (timers, random values, I/O) that a route's module may do when it
// loads, and inside a handler it is allowed. The isolate keeps what was loaded, made with the
// first request's bindings (the CORS policy's CORS_ORIGINS), which are the deployment's.
import type { ExecutionContext } from 'hono'
import type { EdgeWorker } from '../lib/edge/worker.ts'

let loading: Promise<EdgeWorker> | undefined

async function load(bindings: Record<string, unknown>): Promise<EdgeWorker> {
  const [{ edgeWorker }, { loadRoutes }] = await Promise.all([import('../lib/edge/worker.ts'), import('../lib/generated/routes.ts')])
  return edgeWorker(await loadRoutes(), { bindings })
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Promise<Response> {
    loading ??= load(env).catch((error: unknown) => {
      loading = undefined // the next request tries again
      throw error
    })
    return (await loading).fetch(request, env, ctx)
  },
}
