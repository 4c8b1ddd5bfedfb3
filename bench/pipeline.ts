/**
 * Per-invocation overhead of the toolkit over a bare `hono/aws-lambda` handler serving the
 * same route (`GET /items/{id}`: an integer path parameter, a JSON answer), both invoked in
 * this process with the same payload-2.0 event. Short rounds alternate between the two; each round pair gives a ratio, and the median ratio is printed (pairing cancels
 * the machine's slow drifts, which on a shared two-core machine are larger than the effect).
 * Target: at most 1.10x.
 *
 *   npm run bench:pipeline [-- --rounds 60 --per-round 1000]
 */
import { openSync, writeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { Hono } from 'hono'
import { handle } from 'hono/aws-lambda'
import * as v from 'valibot'
import { lambdaFunction } from '../lib/http/lambda.ts'
import { intParam } from '../lib/http/params.ts'
import type { AppEnv } from '../lib/http/env.ts'
import { responds, validate } from '../lib/http/route.ts'
import { setLogSink } from '../lib/log.ts'
import { httpApiEvent, lambdaContext } from '../tests/fixtures/lambda.ts'

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '60' }, 'per-round': { type: 'string', default: '1000' } },
})
const rounds = Number(values.rounds)
const perRound = Number(values['per-round'])

// Our pipeline writes one JSON log line per request; in the bench it goes to /dev/null, so
// serializing and writing it is measured and the terminal stays readable.
const devNull = openSync('/dev/null', 'w')
setLogSink(process.env.BENCH_SINK === 'noop' ? () => undefined : (_level, line) => writeSync(devNull, `${line}\n`))

// The bare handler: what one writes with Hono alone for the same behaviour.
const bareApp = new Hono().get('/items/:id', (c) => {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id)) return c.json({ detail: [{ loc: ['path', 'id'], msg: 'Input should be a valid integer', type: 'int_parsing' }] }, 422)
  return c.json({ id, name: 'item' })
})
const bare = handle(bareApp)

// Ours: the same route written with the toolkit (validation into FastAPI's 422, a response
// model), served by our Lambda adapter with its request id, log line and lifespans.
const ours = await lambdaFunction(
  new Hono<AppEnv>().get('/items/:id', validate({ param: v.object({ id: intParam() }) }), responds(v.object({ id: v.number(), name: v.string() })), (c) =>
    c.var.respond({ id: c.req.valid('param').id, name: 'item' }),
  ),
  { env: {}, startup: 'init' },
)

const event = httpApiEvent({ method: 'GET', route: '/items/{id}', path: '/items/42', pathParameters: { id: '42' } })
const context = lambdaContext()

type Invoke = () => Promise<{ statusCode?: number | undefined; body?: string | undefined }>
type Variant = 'bare' | 'ours'
const variants: Record<Variant, Invoke> = {
  // @ts-expect-error hono/aws-lambda's own event type differs from @types/aws-lambda's in optional fields.
  bare: () => bare(event, context),
  ours: () => ours.handler(event, context),
}

for (const [name, invoke] of Object.entries(variants)) {
  const result = await invoke()
  if (result.statusCode !== 200 || result.body !== '{"id":42,"name":"item"}') throw new Error(`${name} answered ${result.statusCode} ${result.body}`)
}

async function round(invoke: Invoke): Promise<number> {
  const start = process.hrtime.bigint()
  for (let i = 0; i < perRound; i++) await invoke()
  return Number(process.hrtime.bigint() - start) / perRound / 1000
}

for (const invoke of Object.values(variants)) for (let i = 0; i < 3; i++) await round(invoke) // warm-up: JIT, caches

const samples: Record<Variant, number[]> = { bare: [], ours: [] }
for (let r = 0; r < rounds; r++) {
  const order: readonly Variant[] = r % 2 === 0 ? ['bare', 'ours'] : ['ours', 'bare']
  for (const name of order) samples[name].push(await round(variants[name]))
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const ratioOf = (name: Variant) => {
  const ratios = samples[name].map((us, i) => us / (samples.bare[i] as number)).sort((a, b) => a - b)
  const at = (q: number) => (ratios[Math.floor(q * (ratios.length - 1))] as number).toFixed(3)
  return `${median(ratios).toFixed(3)}x (quartiles ${at(0.25)}-${at(0.75)})`
}
const line = (label: string, name: Variant) =>
  `  ${label.padEnd(34)} ${median(samples[name]).toFixed(2).padStart(7)} us/invocation (median; min ${Math.min(...samples[name]).toFixed(2)})`
console.log(`pipeline overhead, GET /items/{id}: ${rounds} alternating rounds x ${perRound} invocations (Node ${process.version})`)
console.log(line('bare hono/aws-lambda', 'bare'))
console.log(line('ours (lambdaFunction)', 'ours'))
console.log(`  ratio, ours / bare                    ${ratioOf('ours')}  target <= 1.10x`)
await ours.shutdown()
