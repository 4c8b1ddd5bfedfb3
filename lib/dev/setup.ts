/**
 * What both local servers (`npm run dev`, `npm run dev:lambda`) start with: the database
 * (embedded PGlite, or DATABASE_URL) opened, migrated, the first super_admin made, and a
 * key for tokens, each step printed. `npm run dev:db` (the database of `sst dev`) does the
 * same less the key: there the functions are linked to the stage's own. Stop steps are added
 * to `stops`.
 */
import { randomBytes } from 'node:crypto'
import type { DevConfig } from '../config.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { ensureSuperAdmin } from '../users/admin.ts'
import type { StopStep } from './cli.ts'
import { functionEnv, openDevDatabase, type DevDatabase } from './database.ts'

export interface DevSetup {
  readonly database: DevDatabase
  /** What the functions need: the database, its proxy, the token key. */
  readonly env: Record<string, string>
  /** The configured super_admin's id, when one is configured. */
  readonly adminId: number | undefined
}

/** The database opened, migrated and given its first super_admin; `env` is how functions reach it. */
export async function prepareDevDatabase(config: DevConfig, stops: StopStep[]): Promise<DevSetup> {
  const database = await openDevDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.pglite.dataDir,
    pglitePort: config.pglite.port,
    wsProxyPort: config.wsProxyPort,
  })
  stops.push(() => database.close())
  for (const line of database.summary) console.log(line)

  const applied = await migrate({ url: database.url })
  console.log(`migrate   ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`)

  let adminId: number | undefined
  if (config.admin) {
    const pool = createPool({ url: database.url, max: 1 })
    const { created, user } = await ensureSuperAdmin(pool, config.admin).finally(() => pool.end())
    adminId = user.id
    const state = created ? 'created' : 'exists'
    console.log(
      config.admin.isDefault
        ? `admin     super_admin "${config.admin.username}" ${state}; password "${config.admin.password}" (development default: set ADMIN_USERNAME and ADMIN_PASSWORD)`
        : `admin     super_admin "${config.admin.username}" ${state}`,
    )
  } else {
    console.log('admin     none configured (set ADMIN_USERNAME and ADMIN_PASSWORD to create the first super_admin)')
  }

  return { database, env: functionEnv(database), adminId }
}

/** The database prepared, and a key for tokens in `env` (JWT_SECRET). */
export async function setUpDevDatabase(config: DevConfig, stops: StopStep[]): Promise<DevSetup> {
  const setup = await prepareDevDatabase(config, stops)
  // Tokens need a key: a random one for this run unless JWT_SECRET gives one that outlives it.
  const jwtSecret = config.jwtSecret ?? randomBytes(32).toString('base64url')
  console.log(config.jwtSecret ? 'tokens    signed with JWT_SECRET' : 'tokens    signed with a random key for this run (set JWT_SECRET to keep tokens across restarts)')
  return { ...setup, env: { ...setup.env, JWT_SECRET: jwtSecret } }
}
