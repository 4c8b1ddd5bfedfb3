/**
 * The database every test file talks to: a throw-away embedded PGlite by default, or the
 * server named by DATABASE_URL when it is set. Either way, through the Neon driver and the
 * local WebSocket proxy, with the migrations applied.
 */
import { functionEnv as devFunctionEnv, openDevDatabase, type DevDatabase } from '../../lib/dev/database.ts'
import type { WireCount } from '../../lib/dev/ws-proxy.ts'
import { migrate } from '../../lib/db/migrate.ts'
import pg from 'pg'
import { createPool } from '../../lib/db/pool.ts'

export const externalUrl: string | undefined = process.env.DATABASE_URL || undefined

/** The token key of every function the tests run (tests/support/auth.ts signs with it). */
export const TEST_JWT_SECRET = 'test-only-jwt-secret-0123456789abcdef'

/** What a function needs to reach the test database and check tokens. */
export function functionEnv(database: DevDatabase): Record<string, string> {
  return { ...devFunctionEnv(database), JWT_SECRET: TEST_JWT_SECRET }
}

export async function startTestDatabase(): Promise<DevDatabase> {
  const database = await openDevDatabase({ databaseUrl: externalUrl, dataDir: 'memory://', pglitePort: 0 })
  await migrate({ url: database.url })
  return database
}

/**
 * A database no other test file writes to, for tests about the whole table (the last
 * super_admin): a throw-away PGlite, or a new database on DATABASE_URL's server, dropped again
 * by close().
 */
export async function startOwnDatabase(): Promise<DevDatabase> {
  if (externalUrl === undefined) return startTestDatabase()
  const name = uniqueName('own').toLowerCase()
  // Over TCP with node-postgres: the Neon driver reaches a server only through the proxy
  // that openDevDatabase starts for the database it opens.
  const server = new pg.Client({ connectionString: externalUrl })
  await server.connect()
  await server.query(`CREATE DATABASE ${name}`)
  const url = new URL(externalUrl)
  url.pathname = `/${name}`
  const database = await openDevDatabase({ databaseUrl: url.toString(), dataDir: 'memory://', pglitePort: 0 })
  await migrate({ url: database.url })
  return {
    url: database.url,
    driver: database.driver,
    embedded: false,
    summary: database.summary,
    async close() {
      await database.close()
      await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await server.end()
    },
  }
}

/**
 * Once the local proxy relays at most `open` connections: those ended since have sent their
 * Terminate and been closed, so that what a test counts next is not theirs.
 */
export async function connectionsClosed(wire: Readonly<WireCount>, open = 0): Promise<void> {
  while (wire.open > open) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** A name no other test run has used, for rows that must not collide on a shared server. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`.slice(0, 32)
}

/** Inserts plain users with these names (made unique) and returns their ids, in order. */
export async function seedUsers(url: string, prefixes: readonly string[]): Promise<number[]> {
  const pool = createPool({ url, max: 1 })
  try {
    const ids: number[] = []
    for (const prefix of prefixes) {
      const name = uniqueName(prefix)
      const { rows } = await pool.query(`INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x') RETURNING id`, [name, `${name}@example.com`])
      ids.push(Number(rows[0].id))
    }
    return ids
  } finally {
    await pool.end()
  }
}
