// The load tool's parts that need no load: its command line, what it reads from an answer's
// headers, and the report it makes of samples. The scenarios themselves run in tests/load/.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServer, type Server } from 'node:http'
import { drive, initDuration, isStale, underBase, type Recording, type Sample } from '../../lib/dev/load/drive.ts'
import { usersPaths } from '../../lib/dev/load/local.ts'
import { parseLoadOptions } from '../../lib/dev/load/options.ts'
import { tokenSubject } from '../../lib/dev/load/remote.ts'
import { formatReport, passed, reportHtml, spread, summarize, type ReportInput } from '../../lib/dev/load/report.ts'
import { runTool } from '../support/cli.ts'

function sample(fields: Partial<Sample> = {}): Sample {
  return { at: 0, ms: 10, status: 200, path: '/users/me', cold: false, initMs: undefined, stale: false, retryAfter: false, ...fields }
}

function input(samples: Sample[], fields: Partial<ReportInput> = {}): ReportInput {
  return { scenario: 'steady', target: 'test', phases: [{ label: '10/s', connections: 1, rate: 10, seconds: 1 }], startedAt: new Date(0), seconds: 1, samples, failures: [], cutOff: 0, timeoutSeconds: 30, connections: undefined, poolMax: undefined, fault: undefined, ...fields }
}

describe('load tool: command line', () => {
  it('builds each scenario\'s phases from its options', () => {
    assert.deepEqual(parseLoadOptions(['burst', '--requests', '50'], {}).phases, [{ label: 'burst of 50', connections: 50, amount: 50 }])
    assert.deepEqual(parseLoadOptions(['steady', '--rate', '5', '--connections', '10', '--seconds', '3'], {}).phases, [{ label: '5/s', connections: 5, rate: 5, seconds: 3 }])
    const ramp = parseLoadOptions(['ramp', '--from', '10', '--to', '50', '--steps', '3', '--seconds', '9'], {}).phases
    assert.deepEqual(ramp.map((phase) => [phase.rate, phase.seconds]), [[10, 3], [30, 3], [50, 3]])
    const fault = parseLoadOptions(['fault'], {})
    assert.deepEqual(fault.fault, { mode: 'blackhole', atSeconds: 10, forSeconds: 10 })
    assert.equal(fault.phases[0]?.seconds, 30)
  })

  it('sends paths as a request line can hold them', () => {
    assert.deepEqual(parseLoadOptions(['steady', '--paths', '/users?search=john smith, /users/me'], {}).paths, ['/users?search=john%20smith', '/users/me'])
  })

  it('takes a deployed URL with a token from the environment, and the sampling database', () => {
    const options = parseLoadOptions(['steady', '--url', 'https://api.example.com/'], { LOAD_TOKEN: 'abc', LOAD_DATABASE_URL: 'postgres://u@db.example.com/app' })
    assert.equal(options.url, 'https://api.example.com')
    assert.equal(options.token, 'abc')
    assert.equal(options.databaseUrl, 'postgres://u@db.example.com/app')
  })

  it('passes the functions\' own settings from the environment to a local run, and none to a deployed one', () => {
    const env = { DATABASE_CONNECT_TIMEOUT_MS: '8000', REDIS_COMMAND_TIMEOUT_MS: '50', DATABASE_POOL_MAX: '9', JWT_SECRET: 'not-passed' }
    assert.deepEqual(parseLoadOptions(['burst'], env).functionSettings, { DATABASE_CONNECT_TIMEOUT_MS: '8000', REDIS_COMMAND_TIMEOUT_MS: '50' })
    assert.deepEqual(parseLoadOptions(['steady', '--url', 'https://x', '--token', 't'], env).functionSettings, {})
    assert.equal(parseLoadOptions(['burst', '--function-timeout', '60'], {}).functionTimeoutSeconds, 60)
    assert.equal(parseLoadOptions(['burst'], {}).functionTimeoutSeconds, undefined)
  })

  const wrong: [string[], Record<string, string>, RegExp][] = [
    [[], {}, /^scenario: is required/],
    [['soak'], {}, /^scenario: must be one of steady, burst, ramp, fault, not "soak"/],
    [['steady', 'burst'], {}, /^arguments: one scenario at a time/],
    [['steady', '--rate', 'fast'], {}, /^--rate: must be a whole number from 1 to 1000000, not "fast"/],
    [['steady', '--rate', '0'], {}, /^--rate: must be a whole number/],
    [['burst', '--requests', '5000'], {}, /^--requests: must be a whole number from 1 to 1000/],
    [['ramp', '--from', '50', '--to', '10'], {}, /^--to: must be above --from \(50\)/],
    [['steady', '--colour'], {}, /^arguments: Unknown option '--colour'/],
    [['steady', '--url', 'ftp://x'], {}, /^--url: must be an http or https URL, not ftp:/],
    [['steady', '--url', 'not a url'], {}, /^--url: is not a URL/],
    [['steady', '--url', 'https://x'], {}, /^--token: is required with --url/],
    [['fault', '--url', 'https://x', '--token', 't'], {}, /^scenario: fault cuts the database off, which only the local emulator can do/],
    [['steady', '--fault-at', '3'], {}, /^--fault-at: applies to fault, not to steady/],
    [['burst', '--rate', '5'], {}, /^--rate: applies to steady and fault, not to burst/],
    [['steady', '--requests', '10'], {}, /^--requests: applies to burst, not to steady/],
    [['steady', '--from', '5'], {}, /^--from: applies to ramp, not to steady/],
    [['ramp', '--seconds', '20', '--steps', '100'], {}, /^--steps: must be at most --seconds \(20\)/],
    [['fault', '--fault-at', '30'], {}, /^--fault-at: must be a whole number from 0 to 29/],
    [['fault', '--fault-at', '20', '--fault-for', '20'], {}, /^--fault-for: the fault must end within the run: 20 \+ 20 s is past --seconds \(30\)/],
    [['steady', '--token', 't'], {}, /^--token: is for --url/],
    [['steady', '--username', 'u'], {}, /^--username: is for --url/],
    [['steady', '--paths', '//evil.example/x'], {}, /^--paths: each path starts with one "\/"/],
    [['fault', '--fault-mode', 'melt'], {}, /^--fault-mode: must be blackhole, refuse, sever or terminate, not "melt"/],
    [['fault', '--fault-mode', 'terminate'], {}, /^--fault-mode: terminate \(pg_terminate_backend\) needs a PostgreSQL server \(set DATABASE_URL\)/],
    [['steady', '--url', 'https://x', '--token', 't', '--pool-max', '2'], {}, /^--pool-max: applies to the local emulator only/],
    [['steady', '--database-url', 'postgres://h/db'], {}, /^--database-url: is for --url/],
    [['steady', '--url', 'https://x', '--token', 't', '--database-url', 'mysql://h/db'], {}, /^--database-url: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [['steady', '--paths', '/users/me,users'], {}, /^--paths: each path starts with one "\/", not "users"/],
    [['burst', '--function-timeout', '901'], {}, /^--function-timeout: must be a whole number from 1 to 900/],
    [['steady', '--url', 'https://x', '--token', 't', '--function-timeout', '60'], {}, /^--function-timeout: applies to the local emulator only/],
    [['burst'], { DATABASE_CONNECT_TIMEOUT_MS: '5s' }, /^DATABASE_CONNECT_TIMEOUT_MS: must be a whole number/],
    [['burst'], { DATABASE_RETRY_ATTEMPTS: '0' }, /^DATABASE_RETRY_ATTEMPTS: must be from 1 to 10/],
    [['burst'], { REDIS_COMMAND_TIMEOUT_MS: '-1' }, /^REDIS_COMMAND_TIMEOUT_MS: must be a whole number/],
  ]
  for (const [argv, env, message] of wrong) {
    it(`refuses ${JSON.stringify(argv)}${Object.keys(env).length > 0 ? ` with ${JSON.stringify(env)}` : ''} with one line naming what is wrong`, () => {
      assert.throws(() => parseLoadOptions(argv, env), (error: Error) => message.test(error.message))
    })
  }

  it('ends with that line and exit code 1, before anything starts', async () => {
    const result = await runTool('lib/dev/load.ts', {}, { timeoutMs: 30_000 }).then(
      (value) => value,
      (error: Error) => assert.fail(error.message),
    )
    assert.equal(result.code, 1)
    assert.equal(result.stderr.trim(), 'error: scenario: is required: one of steady, burst, ramp, fault')
  })
})

describe('load tool: what an answer says', () => {
  it('reads the init from Server-Timing and a cache hit from Cache-Status', () => {
    assert.equal(initDuration('init;dur=123.4'), 123.4)
    assert.equal(initDuration('db;dur=2, init;desc="init";dur=88'), 88)
    assert.equal(initDuration('db;dur=2'), undefined)
    assert.equal(initDuration(undefined), undefined)
    assert.equal(isStale('users-api; hit; ttl=-12'), true)
    assert.equal(isStale('users-api; fwd=miss'), false)
    assert.equal(isStale(undefined), false)
  })

  it('puts the load under the URL\'s own path', () => {
    assert.equal(underBase('https://abc.execute-api.eu-west-1.amazonaws.com/prod/', '/users/me'), '/prod/users/me')
    assert.equal(underBase('http://127.0.0.1:3000', '/users/me'), '/users/me')
  })

  it('reads the user id a token names, and nothing from what is not a token', () => {
    const token = `x.${Buffer.from(JSON.stringify({ sub: '42' })).toString('base64url')}.y`
    assert.equal(tokenSubject(token), 42)
    assert.equal(tokenSubject('not-a-token'), undefined)
    assert.equal(tokenSubject(`x.${Buffer.from(JSON.stringify({ sub: 'admin' })).toString('base64url')}.y`), undefined)
  })

  it('interleaves the users reads so that a burst reaches every function', () => {
    const paths = usersPaths([7, 8])
    assert.deepEqual(paths.slice(0, 6), ['/users/me', '/users/7', '/users?page=1', '/users/me', '/users/8', '/users?page=2'])
    assert.deepEqual(usersPaths([]), ['/users/me', '/users?page=1'])
  })
})

describe('load tool: report', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    assert.deepEqual(spread(values), { count: 100, p50: 50, p95: 95, p99: 99, max: 100 })
    assert.deepEqual(spread([]), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 })
  })

  it('splits cold from warm, counts stale answers and 503s, and passes a clean run', () => {
    const samples = [
      sample({ cold: true, initMs: 200, ms: 900 }),
      sample({ cold: true, initMs: 300, ms: 1_100 }),
      ...Array.from({ length: 8 }, (_, i) => sample({ ms: 10 + i })),
      sample({ stale: true, ms: 3 }),
      sample({ status: 503, retryAfter: true, ms: 5_000 }),
    ]
    const report = summarize(input(samples, { connections: { source: 'test', samples: [{ at: 0, count: 1 }, { at: 100, count: 4 }, { at: 200, count: 2 }] }, poolMax: 2 }))
    assert.equal(report.requests, 12)
    assert.deepEqual(report.statuses, { 200: 11, 503: 1 })
    assert.equal(report.coldStarts, 2)
    assert.deepEqual(report.initMs, { count: 2, p50: 200, p95: 300, p99: 300, max: 300 })
    assert.equal(report.latencyMs.cold.max, 1_100)
    assert.equal(report.latencyMs.warm.count, 10)
    assert.equal(report.latencyMs.warm.max, 5_000)
    assert.equal(report.stale, 1)
    assert.deepEqual(report.unavailable, { withRetryAfter: 1, withoutRetryAfter: 0 })
    assert.deepEqual(report.connections, { source: 'test', peak: 4, samples: 3, poolMax: 2, bound: 4 })
    assert.ok(passed(report), JSON.stringify(report.checks))
    assert.match(formatReport(report), /peak connections\s*│ 4 \(at most 4: 2 instances × 2\), test/)
  })

  it('fails the run on a 500, a 503 without Retry-After, an unanswered request, or connections above instances × pool size', () => {
    const failed = (fields: Partial<ReportInput>, samples: Sample[]) =>
      summarize(input(samples, fields))
        .checks.filter((check) => !check.ok)
        .map((check) => check.name)
    assert.deepEqual(failed({}, [sample({ status: 500 })]), ['no 500'])
    assert.deepEqual(failed({}, [sample({ status: 401 }), sample({ status: 429 })]), ['no 4xx but 429'])
    assert.deepEqual(failed({}, [sample({ status: 503 })]), ['every 503 says Retry-After'])
    assert.deepEqual(failed({ failures: [{ at: 1, reason: 'request timed out' }] }, [sample()]), ['nothing hung'])
    assert.deepEqual(failed({ poolMax: 2, connections: { source: 'test', samples: [{ at: 0, count: 3 }] } }, [sample({ cold: true })]), ['connections within instances × pool size'])
  })

  it('says what the requests sent during a fault got, at what latency, and how soon after it every answer was fresh', () => {
    const fault = { mode: 'blackhole' as const, atSeconds: 1, forSeconds: 2 }
    const samples = [
      sample({ at: 500, ms: 5_000 }), // before the cut, however long it took
      sample({ at: 1_000, ms: 1_100, stale: true }),
      sample({ at: 1_500, ms: 20, stale: true }),
      sample({ at: 2_000, ms: 30, status: 503, retryAfter: true }),
      sample({ at: 2_500, ms: 40, status: 502 }),
      sample({ at: 2_999, ms: 10 }), // fresh: the cut's last moment
      sample({ at: 3_000, ms: 10, stale: true }), // after the return, not yet fresh
      sample({ at: 3_400, ms: 300, status: 503, retryAfter: true }),
      sample({ at: 3_500, ms: 10 }),
      sample({ at: 4_000, ms: 10 }),
    ]
    const report = summarize(input(samples, { fault }))
    assert.deepEqual(report.fault?.figures, {
      during: { requests: 5, fresh: 1, stale: 2, unavailable: 1, other: 1, latencyMs: spread([1_100, 20, 30, 40, 10]) },
      freshAgainMs: 400,
    })
    const table = formatReport(report)
    assert.match(table, /during the fault │ 5 sent: 1 fresh, 2 stale, 1 × 503 with Retry-After, 1 other; p99 1100 ms, max 1100 ms/)
    assert.match(table, /fresh again +│ 400 ms after the return: every request sent later was answered fresh/)
    // Fresh from the first request after the return; not fresh by the end; no request after it.
    const at = (ms: number, fields: Partial<Sample> = {}) => sample({ at: ms, ...fields })
    assert.equal(summarize(input([at(3_000), at(3_500)], { fault })).fault?.figures.freshAgainMs, 0)
    assert.equal(summarize(input([at(3_000), at(3_500, { stale: true })], { fault })).fault?.figures.freshAgainMs, undefined)
    assert.equal(summarize(input([at(1_500)], { fault })).fault?.figures.freshAgainMs, undefined)
  })

  it('counts requests cut off by the end of a phase apart from those that hung', () => {
    const report = summarize(input([sample()], { cutOff: 3 }))
    assert.equal(report.cutOff, 3)
    assert.ok(passed(report))
    assert.match(report.checks.find((check) => check.name === 'nothing hung')?.detail ?? '', /^no request went unanswered for 30 s; 3 in flight when their phase ended$/)
  })

  it('draws every cold start, stale answer and error in the HTML, at the time each was answered', () => {
    const samples = [sample({ cold: true, at: 1_000, ms: 500 }), sample({ stale: true }), sample({ status: 503, retryAfter: true }), sample({ status: 500 }), sample()]
    const report = summarize(input(samples, { fault: { mode: 'blackhole', atSeconds: 1, forSeconds: 2 } }))
    const html = reportHtml(report, samples, [])
    const data = JSON.parse(/const data = (.*);\n/.exec(html)?.[1] ?? 'null') as { series: Record<string, { x: number; y: number }[]>; fault: { untilSeconds: number } }
    assert.deepEqual(data.series.cold, [{ x: 1.5, y: 500 }])
    assert.equal(data.series.stale?.length, 1)
    assert.equal(data.series.unavailable?.length, 1)
    assert.equal(data.series.errors?.length, 1)
    assert.equal(data.series.warm?.length, 1)
    assert.equal(data.fault.untilSeconds, 3)
    // Chart.js and the page's own script, and nothing the report says can close them early.
    assert.equal(html.match(/<\/script/gi)?.length, 2)
    const hostile = reportHtml(summarize(input([sample()], { target: '<script>alert(1)</script>' })), [sample({ path: '</script><b>' })], [])
    assert.equal(hostile.match(/<\/script/gi)?.length, 2)
    assert.ok(hostile.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  })
})

describe('load tool: sending the load', () => {
  let server: Server
  let url = ''
  const seen: string[] = []

  before(async () => {
    let answered = 0
    // 50 ms per answer; every third answer closes its keep-alive connection, as load balancers do.
    server = createServer((request, response) => {
      seen.push(request.url ?? '')
      setTimeout(() => {
        answered++
        const close = answered % 3 === 0
        response.writeHead(200, {
          'content-type': 'application/json',
          ...(close ? { connection: 'close' } : {}),
          ...(answered === 1 ? { 'x-cold-start': '1', 'server-timing': 'init;dur=321.5' } : {}),
        })
        response.end('{}')
      }, 50)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/stage`
  })

  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('times each answer from its own request, under the URL\'s path, when the server closes connections', async () => {
    const recording: Recording = { samples: [], failures: [], cutOff: 0, phase: '' }
    const started = performance.now()
    await drive({ url, headers: {}, paths: ['/a', '/b'], phases: [{ label: 'test', connections: 2, seconds: 2 }], timeoutSeconds: 5, startedAt: started, recording, stopped: () => false })
    const wallMs = performance.now() - started
    // Enough answers for connections to have been closed under the load (every third answer).
    assert.ok(recording.samples.length >= 6, `${recording.samples.length} answers`)
    // Each answer timed from its own request: none shorter than the server's 50 ms wait, and
    // together no longer than two connections' time, one request after another on each
    // (timed from the phase's start, or from a connection's first request, they would sum
    // to far more). Neither depends on how fast the machine is.
    const quick = recording.samples.filter((sample) => sample.ms < 45).map((sample) => Math.round(sample.ms))
    assert.deepEqual(quick, [], 'no answer timed shorter than the server waits')
    const total = recording.samples.reduce((sum, sample) => sum + sample.ms, 0)
    assert.ok(total <= 2 * wallMs, `${Math.round(total)} ms of answers in ${Math.round(wallMs)} ms on 2 connections`)
    assert.deepEqual([...new Set(seen)].sort(), ['/stage/a', '/stage/b'])
    assert.deepEqual([...new Set(recording.samples.map((sample) => sample.path))].sort(), ['/a', '/b'])
    assert.equal(recording.samples.filter((sample) => sample.cold).length, 1)
    assert.equal(recording.samples.find((sample) => sample.cold)?.initMs, 321.5)
    assert.deepEqual(recording.failures, [])
  })
})
