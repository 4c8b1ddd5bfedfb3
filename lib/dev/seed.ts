/**
 * `npm run seed -- --users 100000`: seed users into DATABASE_URL, or into the embedded PGlite
 * data folder when it is unset (with the dev server stopped), after applying the migrations.
 */
import { parseArgs } from 'node:util'
import { ConfigError, readDevConfig } from '../config.ts'
import { migrate } from '../db/migrate.ts'
import { createPool } from '../db/pool.ts'
import { SEED_PASSWORD, seedUsers } from '../users/seed.ts'
import { fail } from './cli.ts'
import { openDevDatabase } from './database.ts'

function readCount(): number {
  let text: string | undefined
  try {
    text = parseArgs({ options: { users: { type: 'string', default: '1000' } }, strict: true }).values.users
  } catch (error) {
    throw new ConfigError('--users', error instanceof Error ? error.message.split('\n')[0] ?? 'is not understood' : 'is not understood')
  }
  if (text === undefined || !/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > 1_000_000) {
    throw new ConfigError('--users', 'must be a whole number from 1 to 1000000')
  }
  return Number(text)
}

async function main(): Promise<void> {
  const count = readCount()
  const config = readDevConfig(process.env)
  const database = await openDevDatabase({ databaseUrl: config.databaseUrl, dataDir: config.pglite.dataDir, pglitePort: config.pglite.port })
  try {
    await migrate({ url: database.url })
    const pool = createPool({ url: database.url, max: 1, queryTimeoutMillis: 300_000 })
    try {
      const started = performance.now()
      const inserted = await seedUsers(pool, count, ({ done, total }) => process.stdout.write(`\rseeding   ${done} / ${total}`))
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      process.stdout.write('\n')
      console.log(`seeded    ${inserted} new users (seed000001 … seed${String(count).padStart(6, '0')}) in ${seconds}s; password "${SEED_PASSWORD}"`)
    } finally {
      await pool.end()
    }
  } finally {
    await database.close()
  }
}

main().catch(fail)
