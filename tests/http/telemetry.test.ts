/**
 * Lambda-native observability, through a Lambda handler with real event shapes: one
 * request's log lines with Powertools' field names and levels, the level from the usual
 * variables, the EMF documents with the namespace and dimensions from configuration, the
 * ColdStart metric, lines on stdout and not through the console, the trace read from Lambda
 * or the request's headers, and the request's statements sent to an X-Ray daemon (a UDP
 * socket here) under the invocation's segment when traced.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Hono } from 'hono/tiny'
import { dbConn } from '../../lib/db/database.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import type { AppEnv } from '../../lib/http/env.ts'
import { lambdaFunction, type LambdaFunction } from '../../lib/http/lambda.ts'
import { needs } from '../../lib/http/route.ts'
import { log } from '../../lib/log.ts'
import { detailsOf, traceOf } from '../../lib/trace.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'
import { invoke } from '../support/invoke.ts'
import { captureLogs, type CapturedLog } from '../support/logs.ts'

/** A route that logs at two levels and runs one statement. */
const route = new Hono<AppEnv>().get('/report', needs({ db: dbConn }), async (c) => {
  log('info', 'report asked')
  log('warn', 'report is slow today', { reason: 'tests' })
  const { rows } = await c.var.db.read<{ n: number }>('SELECT 41 + 1 AS n')
  return c.json({ n: rows[0]?.n })
})

const CONFIGURED = {
  POWERTOOLS_SERVICE_NAME: 'reports',
  POWERTOOLS_METRICS_NAMESPACE: 'acme/reports',
  STAGE: 'prod',
  AWS_LAMBDA_FUNCTION_NAME: 'reports-prod-get',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
}
const TRACE_ROOT = '1-6761b4a0-0123456789abcdef01234567'
const PARENT = '53995c3f42cd8ad8'

interface Emf {
  CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[]
}

describe('Lambda-native logs, metrics and traces', () => {
  let database: DevDatabase
  const started: LambdaFunction[] = []

  before(async () => {
    database = await startTestDatabase()
  })
  after(async () => {
    for (const fn of started) await fn.shutdown()
    await database.close()
  })

  async function instance(env: Record<string, string>): Promise<LambdaFunction> {
    const fn = await lambdaFunction(route, { env: { ...functionEnv(database), ...CONFIGURED, ...env }, startup: 'init' })
    started.push(fn)
    return fn
  }

  /** One request's lines (each instance's first request, its cold start). */
  async function oneRequest(fn: LambdaFunction, headers: Record<string, string> = {}): Promise<{ lines: CapturedLog[] }> {
    const logs = captureLogs()
    try {
      const answer = await invoke(fn.handler, { method: 'GET', route: '/report', path: '/report', headers })
      assert.deepEqual(answer.json(), { n: 42 })
      return { lines: logs.entries }
    } finally {
      logs.restore()
    }
  }

  it('writes Powertools\' fields and levels, the request line as an EMF document by service, stage and route, and ColdStart once', async () => {
    const fn = await instance({})
    const { lines } = await oneRequest(fn, { 'x-amzn-trace-id': `Root=${TRACE_ROOT};Parent=${PARENT};Sampled=0` })
    const logged = lines.filter((line) => line.level !== undefined)
    assert.deepEqual(
      logged.map((line) => [line.level, line.message]),
      [
        ['INFO', 'report asked'],
        ['WARN', 'report is slow today'],
        ['INFO', 'request'],
      ],
    )
    for (const line of logged) {
      assert.match(String(line.timestamp), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      assert.equal(line.time, undefined)
      assert.deepEqual([line.service, line.function_name, line.function_memory_size], ['reports', 'reports-prod-get', 512])
      assert.deepEqual([line.cold_start, line.xray_trace_id], [true, TRACE_ROOT])
      assert.match(String(line.function_request_id), /^aws-req-\d+$/)
    }
    assert.equal(new Set(logged.map((line) => line.function_request_id)).size, 1, 'all of one invocation')
    assert.equal(logged[1]?.reason, 'tests')

    const request = logged[2] as CapturedLog
    assert.match(String(request.request_id), /^req-\d+$/)
    assert.deepEqual([request.method, request.route, request.status, request.stage], ['GET', 'GET /report', 200, 'prod'])
    assert.deepEqual((request._aws as Emf).CloudWatchMetrics, [
      {
        Namespace: 'acme/reports',
        Dimensions: [['service', 'stage', 'route']],
        Metrics: ['duration_ms', 'db_wait_ms', 'db_retries', 'stale', 'unavailable'].map((name) => ({ Name: name, Unit: name.endsWith('_ms') ? 'Milliseconds' : 'Count' })),
      },
    ])
    assert.deepEqual([request.db_retries, request.stale, request.unavailable], [0, 0, 0])

    const cold = lines.filter((line) => line.ColdStart !== undefined)
    assert.equal(cold.length, 1)
    assert.deepEqual((cold[0]?._aws as Emf).CloudWatchMetrics, [{ Namespace: 'acme/reports', Dimensions: [['service', 'stage', 'function_name']], Metrics: [{ Name: 'ColdStart', Unit: 'Count' }] }])
    assert.deepEqual([cold[0]?.service, cold[0]?.stage, cold[0]?.function_name, cold[0]?.ColdStart], ['reports', 'prod', 'reports-prod-get', 1])

    const warm = await oneRequest(fn)
    assert.equal(warm.lines.filter((line) => line.ColdStart !== undefined).length, 0, 'no ColdStart from a warm instance')
    assert.deepEqual(
      warm.lines.filter((line) => line.level !== undefined).map((line) => line.cold_start),
      [false, false, false],
    )
  })

  it('hides info lines with LOG_LEVEL=warn and keeps the metrics, as a document no level filter drops', async () => {
    const fn = await instance({ LOG_LEVEL: 'warn' })
    const { lines } = await oneRequest(fn)
    assert.deepEqual(
      lines.filter((line) => line.level !== undefined).map((line) => [line.level, line.message]),
      [['WARN', 'report is slow today']],
    )
    const metrics = lines.filter((line) => line._aws !== undefined && line.ColdStart === undefined)
    assert.equal(metrics.length, 1)
    const [document] = metrics as [CapturedLog]
    assert.deepEqual([document.service, document.stage, document.route, document.level, document.message], ['reports', 'prod', 'GET /report', undefined, undefined])
    assert.deepEqual((document._aws as Emf).CloudWatchMetrics[0]?.Namespace, 'acme/reports')
    assert.equal(typeof document.duration_ms, 'number')
    assert.equal(lines.filter((line) => line.ColdStart === 1).length, 1)
  })

  it('takes the level as Powertools does: AWS_LAMBDA_LOG_LEVEL, then POWERTOOLS_LOG_LEVEL, then LOG_LEVEL; a bad one names its variable', async () => {
    const levelsOf = async (env: Record<string, string>) => (await oneRequest(await instance(env))).lines.filter((line) => line.level !== undefined).map((line) => line.level)
    assert.deepEqual(await levelsOf({ AWS_LAMBDA_LOG_LEVEL: 'ERROR', POWERTOOLS_LOG_LEVEL: 'DEBUG', LOG_LEVEL: 'debug' }), [])
    assert.deepEqual(await levelsOf({ POWERTOOLS_LOG_LEVEL: 'Warn', LOG_LEVEL: 'debug' }), ['WARN'])
    assert.deepEqual(await levelsOf({ LOG_LEVEL: 'SILENT' }), [])
    await assert.rejects(instance({ POWERTOOLS_LOG_LEVEL: 'verbose' }), { name: 'ConfigError', message: /^POWERTOOLS_LOG_LEVEL: must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT/ })
    await assert.rejects(instance({ STAGE: 'a"b' }), { name: 'ConfigError', message: /^STAGE: / })
  })

  it('writes its lines to stdout, not through the console the Lambda runtime patches', () => {
    // A process of its own, whose console throws: only what reaches stdout is read.
    const script = `
      console.log = console.info = console.warn = console.error = () => { throw new Error('the console was used') }
      const { Hono } = await import('hono/tiny')
      const { lambdaFunction } = await import('./lib/http/lambda.ts')
      const { log } = await import('./lib/log.ts')
      const { httpApiEvent, lambdaContext } = await import('./tests/fixtures/lambda.ts')
      const route = new Hono().get('/ping', (c) => { log('warn', 'pinged'); return c.json({ ok: true }) })
      const fn = await lambdaFunction(route, { env: { STAGE: 'prod' } })
      const answer = await fn.handler(httpApiEvent({ method: 'GET', route: '/ping', path: '/ping' }), lambdaContext())
      await fn.shutdown()
      process.stderr.write('status ' + answer.statusCode)
    `
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(child.stderr.trim(), 'status 200', child.stderr)
    const lines = child.stdout.trim().split('\n').map((line) => JSON.parse(line) as CapturedLog)
    assert.deepEqual(
      lines.map((line) => line.message ?? (line.ColdStart === 1 ? 'ColdStart' : '?')),
      ['pinged', 'request', 'ColdStart'],
    )
  })

  it('reads the trace as X-Ray does: Lambda\'s own, else X-Amzn-Trace-Id, else a W3C traceparent', () => {
    const headers = (values: Record<string, string>) => (name: string) => values[name]
    const lambda = `Root=${TRACE_ROOT};Parent=${PARENT};Sampled=1`
    const caller = 'Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;Parent=1111222233334444;Sampled=0'
    const w3c = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    assert.equal(traceOf({ _X_AMZN_TRACE_ID: lambda }, headers({ 'x-amzn-trace-id': caller, traceparent: w3c }))?.root, TRACE_ROOT)
    const fromCaller = traceOf({}, headers({ 'x-amzn-trace-id': caller, traceparent: w3c }))
    assert.equal(fromCaller?.root, '1-67891233-abcdef012345678912345678')
    assert.deepEqual(fromCaller && detailsOf(fromCaller), { parent: '1111222233334444', sampled: false })
    const fromW3c = traceOf({}, headers({ traceparent: w3c }))
    assert.equal(fromW3c?.root, '1-4bf92f35-77b34da6a3ce929d0e0e4736')
    assert.deepEqual(fromW3c && detailsOf(fromW3c), { parent: '00f067aa0ba902b7', sampled: true })
    for (const bad of ['Root=1-xyz', 'Root=1-6761b4a0-0123456789abcdef0123456789', 'Parent=53995c3f42cd8ad8', '']) assert.equal(traceOf({}, headers({ 'x-amzn-trace-id': bad })), undefined, bad)
    assert.equal(traceOf({}, headers({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' })), undefined)
  })

  describe('database statements as X-Ray subsegments', () => {
    let daemon: Socket
    const received: string[] = []

    before(async () => {
      daemon = createSocket('udp4')
      daemon.on('message', (message) => received.push(message.toString('utf8')))
      await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve))
    })
    after(() => daemon.close())

    it('sends each statement of a sampled invocation to the daemon, under the invocation\'s segment; nothing for one not sampled', async () => {
      // Lambda sets _X_AMZN_TRACE_ID for each invocation in the environment the function reads.
      const env: Record<string, string> = { ...functionEnv(database), ...CONFIGURED, AWS_XRAY_DAEMON_ADDRESS: `udp:127.0.0.1:${(daemon.address() as AddressInfo).port} tcp:127.0.0.1:2000` }
      const fn = await lambdaFunction(route, { env, startup: 'init' })
      started.push(fn)
      env._X_AMZN_TRACE_ID = `Root=${TRACE_ROOT};Parent=${PARENT};Sampled=0`
      await oneRequest(fn)
      const sampledRoot = '1-6761b4a1-fedcba9876543210fedcba98'
      env._X_AMZN_TRACE_ID = `Root=${sampledRoot};Parent=${PARENT};Sampled=1`
      const { lines } = await oneRequest(fn)
      assert.ok(lines.filter((line) => line.level !== undefined).every((line) => line.xray_trace_id === sampledRoot), 'Lambda\'s trace id on every line')
      while (received.length < 1) await new Promise((resolve) => setTimeout(resolve, 10))

      const documents = received.map((datagram) => {
        const [header, body] = datagram.split('\n')
        assert.equal(header, '{"format":"json","version":1}')
        return JSON.parse(body ?? '') as Record<string, unknown>
      })
      assert.deepEqual(
        documents.map((document) => [document.trace_id, document.parent_id, document.type, document.namespace]),
        [[sampledRoot, PARENT, 'subsegment', 'remote']],
        'one statement, of the sampled invocation only',
      )
      const [subsegment] = documents as [Record<string, unknown>]
      const url = new URL(database.url)
      assert.equal(subsegment.name, `${url.pathname.slice(1) || 'postgres'}@${url.hostname}`)
      assert.deepEqual(subsegment.sql, { database_type: 'PostgreSQL', driver_version: '@neondatabase/serverless', url: subsegment.name, sanitized_query: 'SELECT 41 + 1 AS n' })
      assert.match(String(subsegment.id), /^[0-9a-f]{16}$/)
      assert.ok(Number(subsegment.end_time) >= Number(subsegment.start_time) && Math.abs(Number(subsegment.start_time) - Date.now() / 1000) < 60)
      assert.ok(!JSON.stringify(subsegment).includes('password'))
    })
  })
})
