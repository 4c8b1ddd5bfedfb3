import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@neondatabase/serverless'
import { openDevDatabase, type DevDatabase } from '../../lib/dev/database.ts'
import { migrate, MIGRATIONS_TABLE } from '../../lib/db/migrate.ts'
import { runTool } from '../support/cli.ts'
import { externalUrl } from '../support/database.ts'

const ALL = ['0001_users', '0002_users_search', '0003_users_token_version', '0004_users_search_text']

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end()
  }
}

describe('migrations', () => {
  // A database of its own, so that these tests see migrations applied from nothing.
  let database: DevDatabase
  let url: string
  let fresh: string | undefined

  before(async () => {
    if (externalUrl === undefined) {
      database = await openDevDatabase({ databaseUrl: undefined, dataDir: 'memory://', pglitePort: 0 })
      url = database.url
    } else {
      database = await openDevDatabase({ databaseUrl: externalUrl, dataDir: 'memory://', pglitePort: 0 })
      fresh = `migrate_test_${process.pid}_${Date.now()}`
      await query(database.url, `CREATE DATABASE ${fresh}`)
      const target = new URL(externalUrl)
      target.pathname = `/${fresh}`
      url = target.toString()
    }
  })

  after(async () => {
    if (fresh !== undefined) await query(database.url, `DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`)
    await database?.close()
  })

  it('applies every migration once when two runs start at the same time', async () => {
    if (externalUrl === undefined) {
      // Embedded: one process owns the PGlite folder, so the two runs share a process.
      const results = await Promise.all([migrate({ url }), migrate({ url })])
      assert.deepEqual(results.flat().sort(), ALL)
    } else {
      // A server: two `npm run migrate` processes, each with its own connection.
      const env = { DATABASE_URL: url, ADMIN_USERNAME: undefined, ADMIN_PASSWORD: undefined }
      const runs = await Promise.all([runTool('lib/dev/migrate.ts', env), runTool('lib/dev/migrate.ts', env)])
      for (const run of runs) assert.equal(run.code, 0, run.stderr)
      const outputs = runs.map((run) => run.stdout.trim()).sort()
      assert.deepEqual(outputs, [`migrations: applied ${ALL.join(', ')}`, 'migrations: up to date'])
    }
    const applied = await query<{ name: string }>(url, `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)
    assert.deepEqual(
      applied.map((row) => row.name),
      ALL,
    )
  })

  it('applies nothing when the database is up to date', async () => {
    assert.deepEqual(await migrate({ url }), [])
  })

  it('creates the users and user_avatars tables', async () => {
    const tables = await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('users', 'user_avatars') ORDER BY 1`,
    )
    assert.deepEqual(
      tables.map((row) => row.table_name),
      ['user_avatars', 'users'],
    )
  })

  it('creates a trigram index over the searched text', async () => {
    const indexes = await query<{ indexname: string; indexdef: string }>(
      url,
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'users' AND indexdef LIKE '%gin_trgm_ops%' ORDER BY 1`,
    )
    assert.deepEqual(
      indexes.map((row) => row.indexname),
      ['users_search_trgm'],
    )
  })

  it('refuses rows that break the contract (a username outside a-z 0-9 _ . -)', async () => {
    await assert.rejects(
      query(url, `INSERT INTO users (username, email, password_hash) VALUES ('Not Valid', 'x@example.com', 'h')`),
      /users_username_format/,
    )
  })
})
