/**
 * Requests per second of our users routes against a plain Hono implementation of the same
 * routes, on the same database, at 10,000 and at 100,000 users (`npm run seed`'s users), in
 * one run:
 *
 *   - GET /users/{id}                    a super_admin reads one user
 *   - GET /users?search=00217            a search (10 matches)
 *
 * The baseline is what one writes with Hono alone: hono/jwt to verify the token, the caller and
 * the data read with `pool.query`, one statement after another (the page, then its count),
 * `c.json`, run through hono/aws-lambda. Its search has our filter, so that the trigram index
 * serves it as it serves ours: the ratios are the transport's and the round trips', not the
 * index's (with the obvious `username ILIKE $1 OR …`, which that index cannot serve, the
 * baseline reads the table whole). It runs on the Neon driver at its defaults (its Pool, over the
 * same local WebSocket proxy), which is the comparison the targets are for; it also runs on
 * node-postgres over TCP, for reference. Both shapes a function meets are measured:
 *
 *   - one request at a time: each variant one Lambda-style instance (ours its Lambda handler,
 *     a pool of 2 as deployed; the baselines a pool of 2), requests interleaved one by one;
 *   - 32 concurrent: each variant one process serving 32 requests at once, as the dev server
 *     does, every pool the same size (`--pool`, ours through DATABASE_POOL_MAX); the variants
 *     take turns, a burst each, in an order that rotates.
 *
 * The median of the per-round ratios is printed, with its quartiles.
 *
 *   npm run bench:users [-- --users 10000,100000 --rounds 9 --per-round 100 --concurrency 32 --pool 10]
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
import type { DevDatabase } from '../lib/dev/database.ts'
import { lambdaFunction, type LambdaFunction } from '../lib/http/lambda.ts'
import { setLogSink } from '../lib/log.ts'
import { likePattern, listingFilter } from '../lib/users/repository.ts'
import { getUser, listUsersRoute } from '../tests/support/routes.ts'
import { seedUsers } from '../lib/users/seed.ts'
import { httpApiEvent, lambdaContext } from '../tests/fixtures/lambda.ts'
import { bearer, createUser } from '../tests/support/auth.ts'
import { functionEnv, startOwnDatabase, TEST_JWT_SECRET } from '../tests/support/database.ts'
import { median, quartiles } from './stats.ts'

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000,100000' },
    rounds: { type: 'string', default: '9' },
    'per-round': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '32' },
    pool: { type: 'string', default: '10' },
  },
})
const sizes = values.users.split(',').map(Number)
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])
const concurrency = Number(values.concurrency)
const poolSize = Number(values.pool)

const devNull = openSync('/dev/null', 'w')
setLogSink((_level, line) => writeSync(devNull, `${line}\n`))

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
    const search = c.req.query('search') ?? ''
    const args = search === '' ? [] : [likePattern(search)]
    const { rows } = await pool.query(`SELECT ${COLUMNS} FROM users WHERE ${listingFilter(search, '$3')} ORDER BY id LIMIT $1 OFFSET $2`, [perPage, (page - 1) * perPage, ...args])
    const { rows: total } = await pool.query(`SELECT count(*) AS total FROM users WHERE ${listingFilter(search, '$1')}`, args)
    return c.json({ items: rows.map(toUser), page, results_per_page: perPage, total: Number(total[0]?.total) })
  })
  return handle(app)
}


type Event = ReturnType<typeof httpApiEvent>
type Result = { statusCode?: number | undefined; body?: string | undefined }
type Handler = (event: Event) => Promise<Result>
const VARIANTS = ['baselineNeon', 'ours', 'baselineTcp'] as const
type Variant = (typeof VARIANTS)[number]

interface Setup {
  readonly handlers: Record<Variant, Handler>
  close(): Promise<void>
}

/** The three variants on `database`, every pool of `max` connections. */
async function variants(database: DevDatabase, max: number): Promise<Setup> {
  const ours: LambdaFunction = await lambdaFunction([getUser, listUsersRoute], { env: { ...functionEnv(database), DATABASE_POOL_MAX: String(max) } })
  const neonPool = new NeonPool({ connectionString: database.url, max }) // the Neon driver at its defaults
  const tcpPool = new pg.Pool({ connectionString: database.url, max })
  const baselineNeon = plainHono(neonPool)
  const baselineTcp = plainHono(tcpPool)
  return {
    handlers: {
      // @ts-expect-error hono/aws-lambda's own event type differs from @types/aws-lambda's in optional fields.
      baselineNeon: (event) => baselineNeon(event, lambdaContext()),
      ours: (event) => ours.handler(event, lambdaContext()),
      // @ts-expect-error as above
      baselineTcp: (event) => baselineTcp(event, lambdaContext()),
    },
    async close() {
      await ours.shutdown()
      await neonPool.end()
      await tcpPool.end()
    },
  }
}

/** Each variant's requests per second in one round, one request at a time, interleaved request by request in an order that rotates. */
async function oneAtATime(handlers: Record<Variant, Handler>, event: Event): Promise<Record<Variant, number>> {
  const spent: Record<Variant, number> = { baselineNeon: 0, ours: 0, baselineTcp: 0 }
  for (let i = 0; i < perRound; i++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const variant = VARIANTS[(i + k) % VARIANTS.length] as Variant
      const start = performance.now()
      const result = await handlers[variant](event)
      spent[variant] += performance.now() - start
      if (result.statusCode !== 200) throw new Error(`${variant} answered ${result.statusCode}: ${result.body?.slice(0, 200)}`)
    }
  }
  return { baselineNeon: (perRound / spent.baselineNeon) * 1000, ours: (perRound / spent.ours) * 1000, baselineTcp: (perRound / spent.baselineTcp) * 1000 }
}

/** Each variant's requests per second in one round: a burst of `concurrency` requests at once, `perRound` each, the variants in turn. */
async function concurrent(handlers: Record<Variant, Handler>, event: Event, turn: number): Promise<Record<Variant, number>> {
  const rates = { baselineNeon: 0, ours: 0, baselineTcp: 0 }
  for (let k = 0; k < VARIANTS.length; k++) {
    const variant = VARIANTS[(turn + k) % VARIANTS.length] as Variant
    const start = performance.now()
    const cpu = process.cpuUsage()
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < perRound / 4; i++) {
          const result = await handlers[variant](event)
          if (result.statusCode !== 200) throw new Error(`${variant} answered ${result.statusCode}: ${result.body?.slice(0, 200)}`)
        }
      }),
    )
    rates[variant] = ((concurrency * (perRound / 4)) / (performance.now() - start)) * 1000
    const used = process.cpuUsage(cpu)
    cpuPerRequest[variant].push((used.user + used.system) / (concurrency * (perRound / 4)))
  }
  return rates
}

/** This process's CPU time per request in each burst (the local proxy's share included, alike for the Neon variants). */
const cpuPerRequest: Record<Variant, number[]> = { baselineNeon: [], ours: [], baselineTcp: [] }

/** Runs `measure` for `rounds` rounds after one to warm up, and prints the figures against `target`. */
async function report(title: string, target: number, measure: (round: number) => Promise<Record<Variant, number>>): Promise<void> {
  await measure(-1)
  const samples: Record<Variant, number[]> = { baselineNeon: [], ours: [], baselineTcp: [] }
  for (let r = 0; r < rounds; r++) {
    const measured = await measure(r)
    for (const variant of VARIANTS) samples[variant].push(measured[variant])
  }
  const ratios = (of: Variant, to: Variant) => samples[of].map((rate, i) => rate / (samples[to][i] as number))
  const sameDriver = ratios('ours', 'baselineNeon')
  console.log(`    ${title}`)
  console.log(`      plain Hono, Neon driver defaults (baseline)  ${median(samples.baselineNeon).toFixed(0).padStart(6)} req/s`)
  console.log(`      ours, Neon driver (our transport)            ${median(samples.ours).toFixed(0).padStart(6)} req/s`)
  console.log(`      plain Hono, node-postgres over TCP           ${median(samples.baselineTcp).toFixed(0).padStart(6)} req/s`)
  console.log(`      ours / baseline     ${median(sameDriver).toFixed(2)}x (quartiles ${quartiles(sameDriver, 2)})  target >= ${target}x: ${median(sameDriver) >= target ? 'met' : 'MISSED'}`)
  console.log(`      ours / node-postgres ${median(ratios('ours', 'baselineTcp')).toFixed(2)}x`)
  if (cpuPerRequest.ours.length > 0) {
    console.log(`      CPU per request (this process, proxy included): baseline ${median(cpuPerRequest.baselineNeon).toFixed(0)} us, ours ${median(cpuPerRequest.ours).toFixed(0)} us, node-postgres ${median(cpuPerRequest.baselineTcp).toFixed(0)} us`)
    for (const variant of VARIANTS) cpuPerRequest[variant].length = 0
  }
}

console.log(`users routes (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, Node ${process.version}): ${rounds} rounds; one at a time ${perRound} requests per variant per round; ${concurrency} concurrent ${concurrency * (perRound / 4)} per variant per round, pools of ${poolSize}`)
for (const size of sizes) {
  const database = await startOwnDatabase()
  const seedPool = createPool({ url: database.url, max: 1, queryTimeoutMillis: 300_000 })
  await seedUsers(seedPool, size)
  const { rows: target } = await seedPool.query(`SELECT id FROM users WHERE username = 'seed005432'`)
  await seedPool.end()
  const admin = await createUser(database.url, { prefix: 'bench_root', role: 'super_admin' })
  const headers = await bearer(admin.id, 3600)
  const userId = Number(target[0].id)
  const routes: Record<string, Event> = {
    'GET /users/{id}': httpApiEvent({ method: 'GET', route: '/users/{id}', path: `/users/${userId}`, pathParameters: { id: String(userId) }, headers }),
    'GET /users?search=00217': httpApiEvent({ method: 'GET', route: '/users', path: '/users', query: { search: '00217' }, headers }),
  }
  console.log(`  ${size.toLocaleString('en')} users`)
  for (const [shape, max] of [['one at a time', 2], [`${concurrency} concurrent`, poolSize]] as const) {
    const setup = await variants(database, max)
    for (const [name, event] of Object.entries(routes)) {
      // Same answers first: a benchmark of different work would measure nothing.
      const answers = await Promise.all(VARIANTS.map((variant) => setup.handlers[variant](event)))
      const bodies = new Set(answers.map((answer) => JSON.stringify(JSON.parse(answer.body ?? 'null'), (key, value: unknown) => (key === 'created_at' || key === 'updated_at' ? undefined : value))))
      if (answers.some((answer) => answer.statusCode !== 200) || bodies.size !== 1) throw new Error(`${name}: the variants answer differently: ${answers.map((a) => `${a.statusCode} ${a.body?.slice(0, 120)}`).join(' | ')}`)
      if (shape === 'one at a time') await report(`${name}, one at a time (pools of 2)`, 1.5, () => oneAtATime(setup.handlers, event))
      else await report(`${name}, ${shape} (pools of ${max})`, 1.2, (round) => concurrent(setup.handlers, event, round + 1))
    }
    await setup.close()
  }
  await database.close()
}
