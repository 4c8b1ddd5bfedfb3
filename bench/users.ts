/**
 * Requests per second of our users routes against a plain Hono implementation of the same
 * routes, on the same database seeded with 100,000 users (`npm run seed`'s users), in one run:
 *
 *   - GET /users/{id}                    a super_admin reads one user
 *   - GET /users?search=05432            a search served by the trigram indexes (11 matches)
 *
 * The baseline is what one writes with Hono alone: hono/jwt to verify the token, the caller and
 * the data read with `pool.query`, `c.json`, run through hono/aws-lambda. It runs on the same
 * driver as ours (the Neon driver's Pool, over the same local WebSocket proxy), which is the
 * comparison the target is for (>= 0.95x); it also runs on node-postgres over TCP, to show
 * what the WebSocket transport itself costs. Every variant is one Lambda-style instance
 * serving one request at a time; their requests are interleaved one by one, and the median of
 * the per-round ratios is printed.
 *
 *   npm run bench:users [-- --rounds 12 --per-round 150]
 *   DATABASE_URL=postgres://... npm run bench:users
 */
import { openSync, writeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Pool as NeonPool } from '@neondatabase/serverless'
import { Hono, type Context } from 'hono'
import { handle } from 'hono/aws-lambda'
import { verify } from 'hono/jwt'
import pg from 'pg'
import { createPool } from '../lib/db/pool.ts'
import { lambdaFunction } from '../lib/http/lambda.ts'
import { setLogSink } from '../lib/log.ts'
import { listingStatements } from '../lib/users/repository.ts'
import { getUser, listUsersRoute } from '../tests/support/routes.ts'
import { seedUsers } from '../lib/users/seed.ts'
import { httpApiEvent, lambdaContext } from '../tests/fixtures/lambda.ts'
import { bearer, createUser } from '../tests/support/auth.ts'
import { functionEnv, startTestDatabase, TEST_JWT_SECRET } from '../tests/support/database.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' }, 'per-round': { type: 'string', default: '100' } } })
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])

const devNull = openSync('/dev/null', 'w')
setLogSink((_level, line) => writeSync(devNull, `${line}\n`))

const database = await startTestDatabase()
const seedPool = createPool({ url: database.url, max: 1, queryTimeoutMillis: 300_000 })
await seedUsers(seedPool, 100_000)
const { rows: counted } = await seedPool.query('SELECT count(*)::int AS n FROM users')
await seedPool.end()
const admin = await createUser(database.url, { prefix: 'bench_root', role: 'super_admin' })
const headers = await bearer(admin.id, 3600)
const { rows: target } = await new pg.Pool({ connectionString: database.url, max: 1 }).query(`SELECT id FROM users WHERE username = 'seed054321'`)
const userId = Number(target[0].id)

// ---- The baseline: plain Hono, written as one would without the toolkit.
const COLUMNS = 'id, username, email, full_name, role, is_active, created_at, updated_at'
interface Queryable {
  query(sql: string, args?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
}
const toUser = (row: Record<string, unknown>) => ({
  id: Number(row.id),
  username: row.username,
  email: row.email,
  full_name: row.full_name,
  role: row.role,
  is_active: row.is_active,
  created_at: (row.created_at as Date).toISOString(),
  updated_at: row.updated_at === null ? null : (row.updated_at as Date).toISOString(),
})

function plainHono(pool: Queryable) {
  const app = new Hono()
  async function caller(c: Context) {
    const match = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')
    if (!match) return undefined
    try {
      const payload = await verify(match[1] as string, TEST_JWT_SECRET, 'HS256')
      const { rows } = await pool.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [Number(payload.sub)])
      return rows[0]?.is_active ? rows[0] : undefined
    } catch {
      return undefined
    }
  }
  app.get('/users/:id', async (c) => {
    const me = await caller(c)
    if (!me) return c.json({ detail: 'Could not validate credentials' }, 401)
    const id = Number(c.req.param('id'))
    if (!Number.isSafeInteger(id)) return c.json({ detail: [{ loc: ['path', 'id'], type: 'int_parsing' }] }, 422)
    if (me.role !== 'super_admin' && Number(me.id) !== id) return c.json({ detail: 'Not enough permissions' }, 403)
    const { rows } = await pool.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])
    return rows[0] ? c.json(toUser(rows[0])) : c.json({ detail: 'User not found' }, 404)
  })
  app.get('/users', async (c) => {
    const me = await caller(c)
    if (!me) return c.json({ detail: 'Could not validate credentials' }, 401)
    if (me.role !== 'super_admin') return c.json({ detail: 'Not enough permissions' }, 403)
    const page = Number(c.req.query('page') ?? '1')
    const perPage = Number(c.req.query('results_per_page') ?? '13')
    if (!Number.isSafeInteger(page) || page < 1 || !Number.isSafeInteger(perPage) || perPage < 1 || perPage > 100) return c.json({ detail: 'bad page' }, 422)
    const statements = listingStatements(page, perPage, c.req.query('search') ?? '')
    const { rows } = await pool.query(statements.rows.sql, statements.rows.args)
    const { rows: total } = await pool.query(statements.count.sql, statements.count.args)
    return c.json({ items: rows.map(toUser), page, results_per_page: perPage, total: Number(total[0]?.total) })
  })
  return handle(app)
}

// ---- The variants, each its own instance with its own pool of the same size.
const env = functionEnv(database)
const ours = await lambdaFunction([getUser, listUsersRoute], { env })
const neonPool = new NeonPool({ connectionString: database.url, max: 2 }) // the Neon driver at its defaults, configured for the local proxy as ours is
const tcpPool = new pg.Pool({ connectionString: database.url, max: 2 })

const baselineNeon = plainHono(neonPool)
const baselineTcp = plainHono(tcpPool)

const routes = {
  'GET /users/{id}': httpApiEvent({ method: 'GET', route: '/users/{id}', path: `/users/${userId}`, pathParameters: { id: String(userId) }, headers }),
  'GET /users?search': httpApiEvent({ method: 'GET', route: '/users', path: '/users', query: { search: '05432' }, headers }),
}
type Variant = 'baselineNeon' | 'ours' | 'baselineTcp'
type Result = { statusCode?: number | undefined; body?: string | undefined }
const handlers: Record<Variant, (event: (typeof routes)[keyof typeof routes]) => Promise<Result>> = {
  // @ts-expect-error hono/aws-lambda's own event type differs from @types/aws-lambda's in optional fields.
  baselineNeon: (event) => baselineNeon(event, lambdaContext()),
  ours: (event) => ours.handler(event, lambdaContext()),
  // @ts-expect-error as above
  baselineTcp: (event) => baselineTcp(event, lambdaContext()),
}

// Same answers first: a benchmark of different work would measure nothing.
for (const [name, event] of Object.entries(routes)) {
  const answers = await Promise.all(Object.values(handlers).map((run) => run(event)))
  const bodies = new Set(answers.map((answer) => JSON.stringify(JSON.parse(answer.body ?? 'null'), (key, value: unknown) => (key === 'created_at' || key === 'updated_at' ? undefined : value))))
  if (answers.some((answer) => answer.statusCode !== 200) || bodies.size !== 1) throw new Error(`${name}: the variants answer differently: ${answers.map((a) => `${a.statusCode} ${a.body?.slice(0, 120)}`).join(' | ')}`)
}

/**
 * One round: `perRound` requests of each variant, interleaved request by request (in an order
 * that rotates), so that whatever the machine does meanwhile falls on all of them alike.
 * Returns each variant's requests per second in the round.
 */
async function round(event: (typeof routes)[keyof typeof routes]): Promise<Record<Variant, number>> {
  const spent: Record<Variant, number> = { baselineNeon: 0, ours: 0, baselineTcp: 0 }
  const names = Object.keys(handlers) as Variant[]
  for (let i = 0; i < perRound; i++) {
    for (let k = 0; k < names.length; k++) {
      const variant = names[(i + k) % names.length] as Variant
      const start = performance.now()
      await handlers[variant](event)
      spent[variant] += performance.now() - start
    }
  }
  return { baselineNeon: (perRound / spent.baselineNeon) * 1000, ours: (perRound / spent.ours) * 1000, baselineTcp: (perRound / spent.baselineTcp) * 1000 }
}

console.log(`users routes, ${counted[0].n} users (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}), ${rounds} rounds x ${perRound} requests per variant, interleaved, one request at a time per instance (Node ${process.version})`)
for (const [name, event] of Object.entries(routes)) {
  await round(event) // warm-up: JIT, caches, plans
  const samples: Record<Variant, number[]> = { baselineNeon: [], ours: [], baselineTcp: [] }
  for (let r = 0; r < rounds; r++) {
    const measured = await round(event)
    for (const variant of Object.keys(samples) as Variant[]) samples[variant].push(measured[variant])
  }
  const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number
  const ratios = (of: Variant, to: Variant) => samples[of].map((rps, i) => rps / (samples[to][i] as number)).sort((a, b) => a - b)
  const describe = (list: number[]) => `${median(list).toFixed(3)}x (quartiles ${(list[Math.floor(list.length / 4)] as number).toFixed(3)}-${(list[Math.floor((3 * list.length) / 4)] as number).toFixed(3)})`
  const sameDriver = ratios('ours', 'baselineNeon')
  console.log(`  ${name}`)
  console.log(`    plain Hono, Neon driver (baseline)   ${median(samples.baselineNeon).toFixed(0).padStart(6)} req/s`)
  console.log(`    ours, Lambda handler, Neon driver    ${median(samples.ours).toFixed(0).padStart(6)} req/s`)
  console.log(`    plain Hono, node-postgres over TCP   ${median(samples.baselineTcp).toFixed(0).padStart(6)} req/s`)
  console.log(`    ours / baseline (same driver)        ${describe(sameDriver)}  target >= 0.95x: ${median(sameDriver) >= 0.95 ? 'met' : 'MISSED'}`)
  console.log(`    ours / node-postgres over TCP        ${describe(ratios('ours', 'baselineTcp'))}`)
}

await ours.shutdown()
await neonPool.end()
await tcpPool.end()
await database.close()
