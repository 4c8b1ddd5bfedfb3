/**
 * What X-Ray tracing costs (lib/trace.ts): a route that runs one statement, through the Lambda
 * handler, with tracing off (the default: no daemon address) and on (a sampled invocation,
 * its statement sent as a subsegment to a UDP socket standing in for the daemon). Rounds
 * alternate; the median per-request time of each and the median of the paired ratios are
 * printed. Then what turning it on adds to a cold start: loading `node:dgram` (and making its
 * socket) in a fresh process, against a fresh process that does not.
 *
 *   npm run bench:tracing [-- --rounds 30 --per-round 200]
 *
 * The database is PGlite unless DATABASE_URL names a server, through the local proxy.
 */
import { spawn, spawnSync } from 'node:child_process'
import { openSync, writeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Hono } from 'hono/tiny'
import { dbConn } from '../lib/db/database.ts'
import type { AppEnv } from '../lib/http/env.ts'
import { lambdaFunction } from '../lib/http/lambda.ts'
import { needs } from '../lib/http/route.ts'
import { setLogSink } from '../lib/log.ts'
import { httpApiEvent, lambdaContext } from '../tests/fixtures/lambda.ts'
import { functionEnv, startTestDatabase } from '../tests/support/database.ts'
import { median, quartiles } from './stats.ts'

const DAEMON = `
import { createSocket } from 'node:dgram'
let received = 0
const socket = createSocket('udp4')
socket.on('message', () => received++)
socket.bind(0, '127.0.0.1', () => process.stdout.write(String(socket.address().port)))
process.stdin.on('data', () => process.stdout.write(String(received)))
process.stdin.on('end', () => socket.close())
`

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' }, 'per-round': { type: 'string', default: '200' } } })
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])

const devNull = openSync('/dev/null', 'w')
setLogSink((_level, line) => writeSync(devNull, `${line}\n`))

// The daemon stand-in is a process of its own, as X-Ray's daemon is: receiving is not this one's work.
const daemon = spawn(process.execPath, ['--input-type=module', '-e', DAEMON], { stdio: ['pipe', 'pipe', 'inherit'] })
const daemonPort = await new Promise<number>((resolve) => daemon.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))))
const receivedCount = async () => {
  daemon.stdin.write('count\n')
  return new Promise<number>((resolve) => daemon.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))))
}

const database = await startTestDatabase()
const route = new Hono<AppEnv>().get('/one', needs({ db: dbConn }), async (c) => c.json((await c.var.db.read<{ n: number }>('SELECT 1 AS n')).rows[0]))
const base = functionEnv(database)
const off = await lambdaFunction(route, { env: { ...base }, startup: 'init' })
const on = await lambdaFunction(route, {
  env: {
    ...base,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemonPort}`,
    _X_AMZN_TRACE_ID: 'Root=1-6761b4a1-fedcba9876543210fedcba98;Parent=53995c3f42cd8ad8;Sampled=1',
  },
  startup: 'init',
})

const event = httpApiEvent({ method: 'GET', route: '/one', path: '/one' })
const context = lambdaContext()
const variants = { off, on } as const
type Variant = keyof typeof variants

for (const [name, fn] of Object.entries(variants)) {
  const result = await fn.handler(event, context)
  if (result.statusCode !== 200 || result.body !== '{"n":1}') throw new Error(`${name} answered ${result.statusCode} ${result.body}`)
}

async function round(name: Variant): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < perRound; i++) await variants[name].handler(event, context)
  return Number(process.hrtime.bigint() - start) / perRound / 1000
}

for (const name of ['off', 'on'] as const) for (let i = 0; i < 3; i++) await round(name)
await new Promise((resolve) => setTimeout(resolve, 200))
const sentBefore = await receivedCount()
const samples: Record<Variant, number[]> = { off: [], on: [] }
const ratios: number[] = []
for (let r = 0; r < rounds; r++) {
  const order: readonly Variant[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off']
  for (const name of order) samples[name].push(await round(name))
  ratios.push((samples.on.at(-1) as number) / (samples.off.at(-1) as number))
}
await new Promise((resolve) => setTimeout(resolve, 200))

console.log(`tracing, per request (one statement; ${rounds} rounds of ${perRound}, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, Node ${process.version})`)
console.log(`  off  ${median(samples.off).toFixed(1)} µs (quartiles ${quartiles(samples.off, 1)})`)
console.log(`  on   ${median(samples.on).toFixed(1)} µs (quartiles ${quartiles(samples.on, 1)}); subsegments received ${(await receivedCount()) - sentBefore} of ${rounds * perRound}`)
console.log(`  on / off ${median(ratios).toFixed(3)}x (quartiles ${quartiles(ratios, 3)}), +${(median(samples.on) - median(samples.off)).toFixed(1)} µs`)

// A cold start with tracing on loads node:dgram and makes a socket for the first subsegment.
const startup = (load: boolean) => {
  const script = `const t = performance.now(); ${load ? "const { createSocket } = await import('node:dgram'); createSocket('udp4').unref();" : ''} process.stdout.write(String(performance.now() - t))`
  return Number(spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout)
}
const loads: number[] = []
for (let i = 0; i < 15; i++) loads.push(startup(true) - startup(false))
console.log(`cold start: loading node:dgram and making its socket adds ${median(loads).toFixed(2)} ms (quartiles ${quartiles(loads, 2)}), and only to an instance whose first request is traced`)

await off.shutdown()
await on.shutdown()
daemon.stdin.end()
await database.close()
