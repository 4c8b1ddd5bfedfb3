/**
 * `npm run dev`: the whole service on one machine with nothing installed. It starts the
 * database (embedded PGlite, or DATABASE_URL), the Neon WebSocket proxy, the migrations,
 * the first super_admin, and every route of functions/ in one Hono app on
 * http://127.0.0.1:PORT. Ctrl-C closes them in reverse order; PGlite flushes to disk as it
 * closes, so committed data survives.
 */
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { readDevConfig, type DevConfig } from '../config.ts'
import { sharedStoreFromEnv } from '../cache/redis.ts'
import { createApp } from '../http/app.ts'
import { StaleCache } from '../http/stale-cache.ts'
import { loadFunctions } from '../functions.ts'
import { cannotListen, fail, stopOnSignals } from './cli.ts'
import { writeDerivedFiles } from './routes.ts'
import { setUpDevDatabase } from './setup.ts'

/** With @hono/node-server's bindings (`incoming`: the socket, whose peer is the client's address). */
type Fetch = (request: Request, bindings?: unknown) => Response | Promise<Response>

/** Served until the service is ready, so a client that comes early gets a clear answer. */
const starting: Fetch = () => Response.json({ detail: 'Starting' }, { status: 503, headers: { 'retry-after': '1' } })

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(cannotListen('PORT', port, error)))
    server.listen(port, '127.0.0.1', resolve)
  })
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : port
}

async function main(config: DevConfig): Promise<void> {
  const startedAt = performance.now()
  const stops = stopOnSignals()

  // Take the port first: a port in use is found before the database is opened.
  let fetch: Fetch = starting
  const server = createAdaptorServer({ fetch: (request: Request, bindings: unknown) => fetch(request, bindings) }) as Server
  const port = await listen(server, config.port)
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  )

  const setup = await setUpDevDatabase(config, stops)
  const env = { ...process.env, ...setup.env }
  const shared = await sharedStoreFromEnv(env)
  if (shared) console.log('cache     shared tier on REDIS_URL')
  // Every route file of functions/, as it is now; what is derived from them is kept current.
  const functions = await loadFunctions()
  for (const file of await writeDerivedFiles(process.cwd(), functions)) console.log(`routes    wrote ${file}`)
  const app = createApp({ routes: functions.map((entry) => entry.route), env, cache: new StaleCache({ shared }) })
  await app.startup()
  stops.push(() => app.shutdown())
  fetch = (request, bindings) => app.hono.fetch(request, bindings as never)
  const url = `http://127.0.0.1:${port}`
  console.log(`api       ${url}`)
  if (config.cors) console.log(`cors      ${config.cors.origins.join(' ')} (CORS_ORIGINS)`)
  for (const route of functions) console.log(`          ${route.method} ${url}${route.path}`)
  console.log(`ready in ${((performance.now() - startedAt) / 1000).toFixed(1)}s; Ctrl-C stops`)
}

try {
  await main(readDevConfig(process.env))
} catch (error) {
  fail(error)
}
