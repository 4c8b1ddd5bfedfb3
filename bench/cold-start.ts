/**
 * Cold starts of the built functions on this machine, beside bare handlers that do the same
 * database work with the same driver and nothing else: for each, a new Node process loads the
 * bundle (its init: module load and lifespans) and answers one payload-2.0 event; the time from
 * spawn to the answer is the cold start. The runs alternate ours / bare, and the median of
 * each is printed with the ratio, and where our time goes (process start, module load and init,
 * first request). Targets: at most 150 KB per bundle, at most 1.5x the bare handler.
 *
 *   npm run bench:cold-start [-- --runs 15]
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { buildFunction, type BundleSize } from '../lib/dev/build.ts'
import { httpApiEvent } from '../tests/fixtures/lambda.ts'
import { bearer, createUser } from '../tests/support/auth.ts'
import { functionEnv, startTestDatabase } from '../tests/support/database.ts'
import { median, quartiles } from './stats.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } })
const runs = Number(values.runs)

mkdirSync('.data', { recursive: true })
const out = mkdtempSync(join(process.cwd(), '.data', 'cold-'))
const database = await startTestDatabase()
const admin = await createUser(database.url, { prefix: 'cold', role: 'super_admin' })
// As Lambda sets it: our functions start their lifespans in the init phase, as they do there.
const env = { ...functionEnv(database), PATH: process.env.PATH ?? '', AWS_LAMBDA_FUNCTION_NAME: 'bench-cold-start' }

// Bare handlers: the same queries with the same driver, configured the same way, and nothing else.
const DRIVER = `import { Pool, neonConfig } from '@neondatabase/serverless'
if (typeof WebSocket === 'undefined') neonConfig.webSocketConstructor = (await import('ws')).default
const proxy = process.env.DATABASE_WS_PROXY
if (proxy) { neonConfig.wsProxy = (host, port) => proxy + '/v1?address=' + host + ':' + port; neonConfig.useSecureWebSocket = false; neonConfig.pipelineConnect = false }
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 })
`
const BARE = {
  'bare/health.ts': `${DRIVER}
export const handler = async () => {
  await pool.query('SELECT 1')
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'ok' }) }
}`,
  'bare/users-get.ts': `${DRIVER}
import { verify } from 'hono/jwt'
const COLUMNS = 'id, username, email, full_name, role, is_active, created_at, updated_at'
export const handler = async (event) => {
  const token = (event.headers.authorization ?? '').replace(/^Bearer /, '')
  const claims = await verify(token, process.env.JWT_SECRET, 'HS256')
  const me = (await pool.query('SELECT ' + COLUMNS + ' FROM users WHERE id = $1', [Number(claims.sub)])).rows[0]
  if (!me || !me.is_active || me.role !== 'super_admin') return { statusCode: 403, body: '{}' }
  const { rows } = await pool.query('SELECT ' + COLUMNS + ' FROM users WHERE id = $1', [Number(event.pathParameters.id)])
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(rows[0]) }
}`,
}
const bareDir = join(out, 'src')
for (const [file, source] of Object.entries(BARE)) {
  mkdirSync(join(bareDir, 'bare'), { recursive: true })
  writeFileSync(join(bareDir, file), source)
}

const headers = await bearer(admin.id, 3600)
const pairs = [
  { name: 'GET /health', ours: 'functions/health/get.ts', bare: join(bareDir, 'bare/health.ts'), event: httpApiEvent({ method: 'GET', route: '/health', path: '/health' }), expect: '"ok"' },
  {
    name: 'GET /users/{id}',
    ours: 'functions/users/[id]/get.ts',
    bare: join(bareDir, 'bare/users-get.ts'),
    event: httpApiEvent({ method: 'GET', route: '/users/{id}', path: `/users/${admin.id}`, pathParameters: { id: String(admin.id) }, headers }),
    expect: admin.username,
  },
]

/** One cold start: a new process that loads the bundle and answers one event. */
function coldStart(bundle: string, event: unknown): Promise<{ totalMs: number; bootMs: number; loadMs: number; firstMs: number; status: number; body: string }> {
  const script = `
const boot = performance.now()
const { lambdaContext } = { lambdaContext: () => ({ awsRequestId: 'cold', functionName: 'bench', getRemainingTimeInMillis: () => 10000, callbackWaitsForEmptyEventLoop: true }) }
const t0 = performance.now()
const fn = await import(${JSON.stringify(resolve(bundle))})
const t1 = performance.now()
const result = await fn.handler(${JSON.stringify(event)}, lambdaContext())
const t2 = performance.now()
process.stdout.write('COLD ' + JSON.stringify({ bootMs: boot, loadMs: t1 - t0, firstMs: t2 - t1, status: result.statusCode, body: result.body }) + '\\n')
process.exit(0)`
  const started = performance.now()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let errors = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      // The function's own log line comes first; the answer is the line the script marks.
      const line = /^COLD (.*)$/m.exec(output)?.[1]
      if (line !== undefined) {
        const totalMs = performance.now() - started
        resolvePromise({ totalMs, ...(JSON.parse(line) as { bootMs: number; loadMs: number; firstMs: number; status: number; body: string }) })
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
    child.on('exit', (code) => {
      if (!/^COLD /m.test(output)) reject(new Error(`${bundle} exited ${code}: ${errors}`))
    })
  })
}

console.log(`cold starts: ${runs} runs each, alternating, spawn to first answer, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'} through the local proxy (Node ${process.version})`)
for (const pair of pairs) {
  const ours: BundleSize = await buildFunction(pair.ours, out)
  const bare: BundleSize = await buildFunction(pair.bare, out)
  const samples = { ours: [] as Awaited<ReturnType<typeof coldStart>>[], bare: [] as Awaited<ReturnType<typeof coldStart>>[] }
  for (let i = -1; i < runs; i++) {
    for (const which of i % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const)) {
      const result = await coldStart(which === 'ours' ? ours.file : bare.file, pair.event)
      // A degraded answer (the database not reached) would measure something else.
      if (result.status !== 200 || !result.body.includes(pair.expect)) throw new Error(`${pair.name} (${which}) answered ${result.status} ${result.body}`)
      if (i >= 0) samples[which].push(result) // the first round warms the disk cache
    }
  }
  const line = (label: string, size: BundleSize, list: typeof samples.ours) =>
    `    ${label.padEnd(6)} ${(size.bytes / 1024).toFixed(1).padStart(6)} KB  cold start ${median(list.map((r) => r.totalMs)).toFixed(1).padStart(6)} ms  (process ${median(list.map((r) => r.bootMs)).toFixed(1)}, load+init ${median(list.map((r) => r.loadMs)).toFixed(1)}, first request ${median(list.map((r) => r.firstMs)).toFixed(1)})`
  const ratios = samples.ours.map((r, i) => r.totalMs / (samples.bare[i]?.totalMs as number)).sort((a, b) => a - b)
  console.log(`  ${pair.name}`)
  console.log(line('ours', ours, samples.ours))
  console.log(line('bare', bare, samples.bare))
  console.log(`    ratio ours / bare ${median(ratios).toFixed(2)}x (quartiles ${quartiles(ratios, 2)})  target <= 1.5x: ${median(ratios) <= 1.5 ? 'met' : 'MISSED'}; size target <= 150 KB: ${ours.bytes <= 150 * 1024 ? 'met' : 'MISSED'}`)
}
await database.close()
rmSync(out, { recursive: true, force: true })
