/**
 * With 100,000 users (the seed command's), `GET /users?search=` is served by the trigram
 * indexes: the plan of the very statements the route runs shows a bitmap scan of each, and the
 * route answers with the right total.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { listingStatements } from '../../lib/users/repository.ts'
import { listUsersRoute } from '../support/routes.ts'
import { seedUsers } from '../../lib/users/seed.ts'
import { bearer, createUser } from '../support/auth.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  Plans?: PlanNode[]
}

function indexScans(node: PlanNode): string[] {
  const own = node['Node Type'] === 'Bitmap Index Scan' || node['Node Type'] === 'Index Scan' ? [node['Index Name'] ?? ''] : []
  return [...own, ...(node.Plans ?? []).flatMap(indexScans)]
}

/**
 * A term that matches ten seeded users (seed04217 matches seed042170 … seed042179) and that
 * no statistic of the searched columns holds. ANALYZE samples rows at random, and a term
 * found in a histogram bound is estimated to match about 2% of rows, for which a scan in id
 * order is the cheaper plan for a page of 13; so the term is one the sample left out.
 */
async function selectiveTerm(pool: Pool): Promise<string> {
  const { rows } = await pool.query(
    `SELECT coalesce(string_agg(coalesce(histogram_bounds::text, '') || coalesce(most_common_vals::text, ''), ' '), '') AS stats
     FROM pg_stats WHERE tablename = 'users' AND attname IN ('username', 'email', 'full_name')`,
  )
  const stats = String(rows[0].stats).toLowerCase()
  for (let n = 4217; n < 9999; n += 101) {
    const term = `seed0${n}`
    if (!stats.includes(term)) return term.toUpperCase()
  }
  throw new Error('every candidate term is in the statistics')
}

describe('searching 100,000 users', () => {
  let database: DevDatabase
  let pool: Pool
  let fn: LambdaFunction

  before(async () => {
    database = await startTestDatabase()
    pool = createPool({ url: database.url, max: 1, queryTimeoutMillis: 120_000 })
    await seedUsers(pool, 100_000)
    fn = await lambdaFunction(listUsersRoute, { env: functionEnv(database) })
  })
  after(async () => {
    await fn?.shutdown()
    await pool?.end()
    await database?.close()
  })

  it('has the users', async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM users WHERE username LIKE 'seed%'`)
    assert.ok(rows[0].n >= 100_000)
  })

  it('plans the page and the count of a selective search on the three trigram indexes', async () => {
    const statements = listingStatements(1, 13, await selectiveTerm(pool))
    for (const statement of [statements.rows, statements.count]) {
      const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${statement.sql}`, statement.args)
      const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]?.Plan as PlanNode
      assert.deepEqual(indexScans(plan).sort(), ['users_email_trgm', 'users_full_name_trgm', 'users_username_trgm'], JSON.stringify(plan))
    }
  })

  it('answers the search through the route with every active match counted', async () => {
    const admin = await createUser(database.url, { prefix: 'searcher', role: 'super_admin' })
    const response = await invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query: { search: 'SEED04217' }, headers: await bearer(admin.id) })
    assert.equal(response.status, 200)
    const page = response.json() as { items: { username: string }[]; total: number }
    // seed042170 … seed042179 (none of them a 50th, which the seed makes inactive).
    assert.equal(page.total, 10)
    assert.deepEqual(
      page.items.map((item) => item.username),
      Array.from({ length: 10 }, (_, i) => `seed04217${i}`),
    )
    const inactive = await invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query: { search: 'seed04215' }, headers: await bearer(admin.id) })
    assert.equal((inactive.json() as { total: number }).total, 9, 'seed042150 is inactive and not counted')
  })
})
