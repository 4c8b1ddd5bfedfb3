/**
 * Per-invocation overhead of the request pipeline over a bare `hono/aws-lambda` handler
 * serving the same route (`GET /items/{id}`: an integer path parameter, a JSON answer), both
 * invoked in this process with the same payload-2.0 event. Short rounds alternate between
 * the two; each round pair gives a ratio, and the median ratio is printed (pairing cancels
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
import { route } from '../lib/http/route.ts'
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

const ours = await lambdaFunction(
  route({
    method: 'GET',
    path: '/items/{id}',
    params: v.object({ id: intParam() }),
    response: v.object({ id: v.number(), name: v.string() }),
    handler: ({ params }) => ({ id: params.id, name: 'item' }),
  }),
  { env: {} },
)

const event = httpApiEvent({ method: 'GET', route: '/items/{id}', path: '/items/42', pathParameters: { id: '42' } })
const context = lambdaContext()

type Invoke = () => Promise<{ statusCode?: number | undefined; body?: string | undefined }>
const variants: Record<'bare' | 'ours', Invoke> = {
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

const samples: Record<'bare' | 'ours', number[]> = { bare: [], ours: [] }
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const)
  for (const name of order) samples[name].push(await round(variants[name]))
}

const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const bareUs = median(samples.bare)
const oursUs = median(samples.ours)
const ratios = samples.ours.map((us, i) => us / (samples.bare[i] as number))
const sortedRatios = [...ratios].sort((a, b) => a - b)
const quartile = (q: number) => sortedRatios[Math.floor(q * (sortedRatios.length - 1))] as number
console.log(`pipeline overhead, GET /items/{id}: ${rounds} alternating rounds x ${perRound} invocations (Node ${process.version})`)
console.log(`  bare hono/aws-lambda   ${bareUs.toFixed(2)} us/invocation (median; min ${Math.min(...samples.bare).toFixed(2)})`)
console.log(`  our pipeline           ${oursUs.toFixed(2)} us/invocation (median; min ${Math.min(...samples.ours).toFixed(2)})`)
console.log(`  ratio                  ${median(ratios).toFixed(3)}x median of paired rounds (quartiles ${quartile(0.25).toFixed(3)}-${quartile(0.75).toFixed(3)}; target <= 1.10x)`)
await ours.shutdown()
