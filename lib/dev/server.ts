/**
 * `npm run dev`: the whole service on one machine with nothing installed. It starts the
 * database (embedded PGlite, or DATABASE_URL), the Neon WebSocket proxy, the migrations,
 * the first super_admin, and every route of `lib/routes.ts` in one Hono app on
 * http://127.0.0.1:PORT. Ctrl-C closes them in reverse order; PGlite flushes to disk as it
 * closes, so committed data survives.
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import { createAdaptorServer } from '@hono/node-server'
import { ConfigError, readDevConfig, type DevConfig } from '../config.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { sharedStoreFromEnv } from '../cache/redis.ts'
import { createApp } from '../http/app.ts'
import { StaleCache } from '../http/stale-cache.ts'
import { ROUTES } from '../routes.ts'
import { ensureSuperAdmin } from '../users/repository.ts'
import { fail, stopOnSignals } from './cli.ts'
import { functionEnv, openDevDatabase } from './database.ts'

type Fetch = (request: Request) => Response | Promise<Response>

/** Served until the service is ready, so a client that comes early gets a clear answer. */
const starting: Fetch = () => Response.json({ detail: 'Starting' }, { status: 503, headers: { 'retry-after': '1' } })

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'already in use' : (error.code ?? error.message)
      reject(new ConfigError('PORT', `cannot listen on 127.0.0.1:${port} (${reason})`))
    })
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
  const server = createAdaptorServer({ fetch: (request: Request) => fetch(request) }) as Server
  const port = await listen(server, config.port)
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      }),
  )

  const database = await openDevDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.pglite.dataDir,
    pglitePort: config.pglite.port,
  })
  stops.push(() => database.close())
  for (const line of database.summary) console.log(line)

  const applied = await migrate({ url: database.url })
  console.log(`migrate   ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`)

  if (config.admin) {
    const pool = createPool({ url: database.url, max: 1 })
    const { created } = await ensureSuperAdmin(pool, config.admin).finally(() => pool.end())
    const state = created ? 'created' : 'exists'
    console.log(
      config.admin.isDefault
        ? `admin     super_admin "${config.admin.username}" ${state}; password "${config.admin.password}" (development default: set ADMIN_USERNAME and ADMIN_PASSWORD)`
        : `admin     super_admin "${config.admin.username}" ${state}`,
    )
  } else {
    console.log('admin     none configured (set ADMIN_USERNAME and ADMIN_PASSWORD to create the first super_admin)')
  }

  // Tokens need a key: a random one for this run unless JWT_SECRET gives one that outlives it.
  const jwtSecret = config.jwtSecret ?? randomBytes(32).toString('base64url')
  console.log(config.jwtSecret ? 'tokens    signed with JWT_SECRET' : 'tokens    signed with a random key for this run (set JWT_SECRET to keep tokens across restarts)')
  const env = { ...process.env, ...functionEnv(database), JWT_SECRET: jwtSecret }
  const shared = await sharedStoreFromEnv(env)
  if (shared) console.log('cache     shared tier on REDIS_URL')
  const app = createApp({ routes: ROUTES.map((entry) => entry.route), env, cache: new StaleCache({ shared }) })
  await app.startup()
  stops.push(() => app.shutdown())
  fetch = (request) => app.hono.fetch(request)
  const url = `http://127.0.0.1:${port}`
  console.log(`api       ${url}`)
  for (const route of ROUTES) console.log(`          ${route.method} ${url}${route.path}`)
  console.log(`ready in ${((performance.now() - startedAt) / 1000).toFixed(1)}s; Ctrl-C stops`)
}

try {
  await main(readDevConfig(process.env))
} catch (error) {
  fail(error)
}
