/**
 * 30 seconds of reads with the database cut off (every packet dropped) from second 10 to 20.
 * Four function instances, each serving one request at a time as Lambda does, read a set of
 * users in turn through their Lambda handlers; the database is reached through a fault proxy.
 * Prints requests, fresh / stale / 503 (and any other status), and latency p50/p99 against
 * the 10 s deadline. Target: no other status, p99 within the deadline.
 *
 *   npm run bench:outage [-- --seconds 30 --instances 4]
 *   DATABASE_URL=postgres://... npm run bench:outage   (a PostgreSQL server instead of PGlite)
 */
import { parseArgs } from 'node:util'
import { createPool } from '../lib/db/pool.ts'
import type { FaultProxy } from '../lib/dev/fault-proxy.ts'
import { lambdaFunction } from '../lib/http/lambda.ts'
import { setLogSink } from '../lib/log.ts'
import { getUser } from '../tests/support/routes.ts'
import { bearer, createUser } from '../tests/support/auth.ts'
import { startTestDatabase, TEST_JWT_SECRET } from '../tests/support/database.ts'
import { behindFaultProxies } from '../lib/dev/faults.ts'
import { invoke } from '../tests/support/invoke.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, instances: { type: 'string', default: '4' } } })
const seconds = Number(values.seconds)
const instances = Number(values.instances)
const DEADLINE_MS = 10_000

setLogSink(() => undefined)
const database = await startTestDatabase()
const paths = await behindFaultProxies(database)
const [fault] = paths.proxies as [FaultProxy]

const seed = createPool({ url: database.url, max: 1 })
const ids: number[] = []
for (let i = 0; i < 20; i++) {
  const name = `bench_${process.pid}_${i}`.slice(0, 32)
  const { rows } = await seed.query(
    `INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x') ON CONFLICT (username) DO UPDATE SET email = EXCLUDED.email RETURNING id`,
    [name, `${name}@example.com`],
  )
  ids.push(Number(rows[0].id))
}
await seed.end()
// The caller: a super_admin (the same rights on every read), identified from the kept record while the database is away.
const headers = await bearer((await createUser(database.url, { prefix: 'bench_admin', role: 'super_admin' })).id, 3600)

const env = { JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: paths.urlThrough(fault), DATABASE_WS_PROXY: paths.ws.address, DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_QUERY_TIMEOUT_MS: '2000' }
const functions = await Promise.all(Array.from({ length: instances }, () => lambdaFunction(getUser, { env })))

const counts: Record<string, number> = { fresh: 0, stale: 0, '503': 0 }
const latencies: number[] = []
const started = Date.now()
const end = started + seconds * 1000
let phase = 'up'
const timeline = [
  setTimeout(() => {
    fault.setMode('blackhole')
    phase = 'cut off'
  }, (seconds * 1000) / 3),
  setTimeout(() => {
    fault.setMode('forward')
    phase = 'back'
  }, (2 * seconds * 1000) / 3),
]
const progress = setInterval(() => {
  process.stdout.write(`\r  ${Math.round((Date.now() - started) / 1000)}s  database ${phase.padEnd(8)} fresh ${counts.fresh} stale ${counts.stale} 503 ${counts['503']}   `)
}, 500)

await Promise.all(
  functions.map(async (fn, instance) => {
    for (let i = instance; Date.now() < end; i++) {
      const id = ids[i % ids.length] as number
      const t = performance.now()
      const response = await invoke(fn.handler, { method: 'GET', route: '/users/{id}', path: `/users/${id}`, headers })
      latencies.push(performance.now() - t)
      const kind = response.status === 200 ? (response.headers.age === undefined ? 'fresh' : 'stale') : String(response.status)
      counts[kind] = (counts[kind] ?? 0) + 1
    }
  }),
)
clearInterval(progress)
timeline.forEach(clearTimeout)
process.stdout.write('\n')

latencies.sort((a, b) => a - b)
const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(1)
const others = Object.entries(counts).filter(([kind]) => !['fresh', 'stale', '503'].includes(kind))
console.log(`outage bench: ${seconds}s, ${instances} instances, database cut off from ${seconds / 3}s to ${(2 * seconds) / 3}s (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`)
console.log(`  requests ${latencies.length}: fresh ${counts.fresh}, stale ${counts.stale}, 503 ${counts['503']}, other ${others.map(([k, n]) => `${k}=${n}`).join(' ') || 0}`)
console.log(`  latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies.at(-1)?.toFixed(1)} ms (deadline ${DEADLINE_MS} ms)`)
console.log(`  target: no other status (${others.length === 0 ? 'met' : 'MISSED'}), p99 within the deadline (${Number(pct(0.99)) < DEADLINE_MS ? 'met' : 'MISSED'})`)

for (const fn of functions) await fn.shutdown()
await paths.close()
await database.close()
