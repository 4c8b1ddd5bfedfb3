/**
 * With 10,000 and with 100,000 users (the seed command's), `GET /users?search=` is served by
 * the trigram index over the searched text: the plan of the very statement the route runs
 * (the page and the count together) scans that index for both and reads no table whole; the
 * route answers with the right total; and what matches is what the per-column rule says, with
 * `%`, `_` and `\` as themselves, any case, and nothing found across two columns.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createPool, type Pool } from '../../lib/db/pool.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { listingStatement } from '../../lib/users/repository.ts'
import { listUsersRoute } from '../support/routes.ts'
import { seedUsers } from '../../lib/users/seed.ts'
import { bearer, createUser } from '../support/auth.ts'
import { functionEnv, startOwnDatabase } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  Plans?: PlanNode[]
}

/** Every scan in the plan: `Bitmap Index Scan users_search_trgm`, `Seq Scan`, … */
function scans(node: PlanNode): string[] {
  const own = node['Node Type'].endsWith('Scan') ? [`${node['Node Type']}${node['Index Name'] === undefined ? '' : ` ${node['Index Name']}`}`] : []
  return [...own, ...(node.Plans ?? []).flatMap(scans)]
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

for (const size of [10_000, 100_000]) {
  describe(`searching ${size.toLocaleString('en')} users`, () => {
    let database: DevDatabase
    let pool: Pool
    let fn: LambdaFunction

    before(async () => {
      database = await startOwnDatabase()
      pool = createPool({ url: database.url, max: 1, queryTimeoutMillis: 120_000 })
      await seedUsers(pool, size)
      fn = await lambdaFunction(listUsersRoute, { env: functionEnv(database) })
    })
    after(async () => {
      await fn?.shutdown()
      await pool?.end()
      await database?.close()
    })

    it('has the users', async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM users WHERE username LIKE 'seed%'`)
      assert.equal(rows[0].n, size)
    })

    it('plans the page and the count of a selective search on the searched text\'s trigram index, with no table read whole', async () => {
      for (const page of [1, 1_000]) {
        const statement = listingStatement(page, 13, await selectiveTerm(pool))
        const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${statement.sql}`, statement.args)
        const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]?.Plan as PlanNode
        assert.deepEqual(scans(plan).sort(), ['Bitmap Heap Scan', 'Bitmap Heap Scan', 'Bitmap Index Scan users_search_trgm', 'Bitmap Index Scan users_search_trgm'], JSON.stringify(plan))
      }
    })

    it('answers the search through the route with every active match counted', async () => {
      const admin = await createUser(database.url, { prefix: 'searcher', role: 'super_admin' })
      const response = await invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query: { search: 'SEED00217' }, headers: await bearer(admin.id) })
      assert.equal(response.status, 200)
      const page = response.json() as { items: { username: string }[]; total: number }
      // seed002170 … seed002179 (none of them a 50th, which the seed makes inactive).
      assert.equal(page.total, 10)
      assert.deepEqual(
        page.items.map((item) => item.username),
        Array.from({ length: 10 }, (_, i) => `seed00217${i}`),
      )
      const inactive = await invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query: { search: 'seed00215' }, headers: await bearer(admin.id) })
      assert.equal((inactive.json() as { total: number }).total, 9, 'seed002150 is inactive and not counted')
      const past = await invoke(fn.handler, { method: 'GET', route: '/users', path: '/users', query: { search: 'seed00215', page: '2' }, headers: await bearer(admin.id) })
      assert.deepEqual(past.json(), { items: [], page: 2, results_per_page: 13, total: 9 }, 'a page past the end still has the total')
    })

    it('matches what the per-column rule says: %, _ and \\ as themselves, any case, nothing across two columns', async () => {
      const names = ['Ada 50% Off', 'Ada 50x Off', 'a_b Hopper', 'axb Hopper', 'back\\slash Kay', 'backxslash Kay']
      for (const [i, fullName] of names.entries()) {
        await pool.query(`INSERT INTO users (username, email, full_name, password_hash) VALUES ($1, $2, $3, 'x')`, [`rule${size}_${i}`, `rule${size}_${i}@example.org`, fullName])
      }
      const { rows: everyone } = await pool.query<{ id: string; username: string; email: string; full_name: string | null }>('SELECT id, username, email, full_name FROM users WHERE is_active ORDER BY id')
      const terms = ['50% off', 'A_B', 'K\\SLASH', 'slash kay', `rule${size}_2 rule${size}_2@`, '.org a_b', 'seed00999', '%', '_', '\\']
      for (const term of terms) {
        const expected = everyone.filter((row) => [row.username, row.email, row.full_name].some((text) => text !== null && text.toLowerCase().includes(term.toLowerCase())))
        const statement = listingStatement(1, 100, term)
        const { rows } = await pool.query<{ id: string | null; total: string }>(statement.sql, statement.args)
        assert.equal(Number(rows[0]?.total), expected.length, `total for ${JSON.stringify(term)}`)
        assert.deepEqual(rows.filter((row) => row.id !== null).map((row) => row.id), expected.slice(0, 100).map((row) => row.id), `page for ${JSON.stringify(term)}`)
      }
    })
  })
}
