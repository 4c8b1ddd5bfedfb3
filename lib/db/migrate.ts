/**
 * Applies the versioned SQL files in `lib/db/migrations/` with node-pg-migrate, through the
 * same Neon driver the functions use (its `Client` is node-postgres compatible).
 *
 * Two runs at once are safe: node-pg-migrate holds a Postgres advisory lock (we ask it to
 * wait for the lock rather than fail). PGlite serves every connection from one backend
 * session, where an advisory lock is re-entrant and so protects nothing; runs in one process
 * are therefore also queued here, and a PGlite data folder is opened by one process only
 * (see `lib/dev/pglite-lock.ts`).
 */
import { fileURLToPath } from 'node:url'
import { Client } from '@neondatabase/serverless'
import { runner } from 'node-pg-migrate'
import type { ClientBase } from 'pg'

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url))
export const MIGRATIONS_TABLE = 'pgmigrations'

export interface MigrateOptions {
  readonly url: string
  /** Receives node-pg-migrate's progress lines; silent by default. */
  readonly log?: (line: string) => void
}

let queue: Promise<unknown> = Promise.resolve()

/** Applies pending migrations and returns their names (empty when none were pending). */
export function migrate(options: MigrateOptions): Promise<string[]> {
  const run = queue.then(() => migrateNow(options))
  queue = run.catch(() => undefined)
  return run
}

async function migrateNow(options: MigrateOptions): Promise<string[]> {
  const client = new Client({ connectionString: options.url })
  await client.connect()
  try {
    const applied = await runner({
      // @ts-expect-error The Neon Client implements node-postgres's Client API but is typed by its own copy of pg's types.
      dbClient: client satisfies Pick<ClientBase, 'query'>,
      dir: MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction: 'up',
      advisoryLockMode: 'wait',
      checkOrder: true,
      log: options.log ?? (() => undefined),
    })
    return applied.map((migration) => migration.name)
  } finally {
    await client.end()
  }
}
