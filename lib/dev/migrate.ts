/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite
 * data folder when it is unset, and creates the first super_admin when one is configured.
 */
import { readDevConfig } from '../config.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { ensureSuperAdmin } from '../users/admin.ts'
import { fail } from './cli.ts'
import { openDevDatabase } from './database.ts'

async function main(): Promise<void> {
  const config = readDevConfig(process.env)
  const database = await openDevDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.pglite.dataDir,
    pglitePort: config.pglite.port,
  })
  try {
    const applied = await migrate({ url: database.url })
    console.log(applied.length === 0 ? 'migrations: up to date' : `migrations: applied ${applied.join(', ')}`)
    if (config.admin) {
      const pool = createPool({ url: database.url, max: 1 })
      try {
        const { created } = await ensureSuperAdmin(pool, config.admin)
        console.log(`super_admin "${config.admin.username}": ${created ? 'created' : 'exists'}`)
      } finally {
        await pool.end()
      }
    }
  } finally {
    await database.close()
  }
}

main().catch(fail)
