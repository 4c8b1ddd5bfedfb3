// `npm run load` as a user runs it: the scenarios against the local Lambda emulator (a burst of
// 50 to cold functions on a healthy database, the same burst with PostgreSQL's connection
// limit below the instance count, the database cut off mid-run), and against a URL served by
// `npm run dev:lambda`. Each run is checked through the report files it writes.
//
// These load the whole machine on purpose (50 instance processes at once), so `npm test` runs
// this folder after the other tests, alone.
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium } from 'playwright-core'
import pg from 'pg'
import { ROOT, runTool, spawnTool, type Finished } from '../support/cli.ts'
import { externalUrl } from '../support/database.ts'
import type { FaultFigures } from '../../lib/dev/load/report.ts'

interface Spread {
  count: number
  p50: number
  p99: number
  max: number
}

interface Report {
  requests: number
  seconds: number
  statuses: Record<string, number>
  failures: { count: number }
  coldStarts: number
  initMs: Spread
  latencyMs: { all: Spread; cold: Spread; warm: Spread }
  stale: number
  unavailable: { withRetryAfter: number; withoutRetryAfter: number }
  connections: { peak: number; samples: number; bound: number | undefined; source: string } | undefined
  fault: { atSeconds: number; untilSeconds: number; figures: FaultFigures } | undefined
  checks: { name: string; ok: boolean; detail: string }[]
}

interface Written {
  report: Report
  samples: { columns: string[]; rows: unknown[][] }
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
mkdirSync(join(ROOT, '.data'), { recursive: true }) // a fresh clone has none until something runs
const out = mkdtempSync(join(ROOT, '.data', 'load-test-'))
// With DATABASE_URL the tool signs the load in as this super_admin (made if missing).
const ADMIN = { ADMIN_USERNAME: 'load_test_admin', ADMIN_PASSWORD: 'load-test-admin-password' }
const env = { DATABASE_URL: externalUrl, ...ADMIN }

async function load(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<{ run: Finished; written: Written; dir: string }> {
  const dir = join(out, `${args[0]}-${Math.random().toString(36).slice(2, 8)}`)
  // A request counts as hung after 2 minutes, not the tool's 30 s: these runs check what the
  // answers are, and 50 instances starting on two loaded cores may take longer than 30 s.
  const run = await runTool('lib/dev/load.ts', { ...env, ...extraEnv }, { args: [...args, '--timeout', '120', '--out', dir], timeoutMs: 600_000 })
  const file = join(dir, 'report.json')
  assert.ok(existsSync(file), `no report.json; exit ${run.code}\n${run.stdout}\n${run.stderr}`)
  return { run, written: JSON.parse(readFileSync(file, 'utf8')) as Written, dir }
}

function failedChecks(report: Report): string[] {
  return report.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`)
}

/** `Init Duration` REPORT lines: the instances the emulator started. */
function initLines(text: string): number {
  return text.split('\n').filter((line) => line.startsWith('REPORT RequestId:') && line.includes('\tInit Duration: ')).length
}

after(() => rmSync(out, { recursive: true, force: true }))

describe('npm run load, against the local Lambda emulator', () => {
  let burst: { run: Finished; written: Written; dir: string }

  before(async () => {
    // This run checks that a healthy database answers every request, whatever else the
    // machine runs: 50 instances starting at once on two loaded cores (a second test run
    // beside this one) took longer than the deployed 10 s timeout and 2 s connect timeout
    // allow, and got 500 (the function timed out) and 503. So the functions get 60 s, and
    // 8 s per connection. How a request gives up on a database that does not answer, within
    // the deployed timeouts, is the fault run's question.
    burst = await load(['burst', '--requests', '50', '--function-timeout', '60'], { DATABASE_CONNECT_TIMEOUT_MS: '8000' })
  })

  /** What the functions' output says of answers other than 200: timeouts, failed inits, warnings and errors. */
  const whyNot200 = (dir: string) =>
    readFileSync(join(dir, 'functions.log'), 'utf8')
      .split('\n')
      .filter((line) => /timed out|INIT_REPORT|"level":"(warn|error)"/.test(line))
      .slice(0, 20)
      .join('\n')

  it('a burst of 50 to cold functions on a healthy database: every answer 200, connections within instances × pool size', () => {
    const { report } = burst.written
    assert.equal(burst.run.code, 0, burst.run.stdout + burst.run.stderr)
    assert.deepEqual(failedChecks(report), [])
    assert.equal(report.requests, 50)
    assert.deepEqual(report.statuses, { 200: 50 }, whyNot200(burst.dir))
    assert.equal(report.failures.count, 0)
    // Cold starts as the answers told them, and as the emulator started them.
    const started = initLines(readFileSync(join(burst.dir, 'functions.log'), 'utf8'))
    assert.equal(report.coldStarts, started)
    assert.ok(report.coldStarts >= 3, `${report.coldStarts} cold starts: the burst reaches three functions`)
    assert.equal(report.initMs.count, report.coldStarts, 'every cold answer told its init')
    assert.ok(report.connections !== undefined && report.connections.samples > 0)
    assert.ok(report.connections.peak >= 1 && report.connections.peak <= report.coldStarts * 2, `peak ${report.connections.peak}, ${report.coldStarts} instances × 2`)
    assert.equal(report.connections.bound, report.coldStarts * 2)
  })

  it('shows progress while it runs and the report as a table at the end', () => {
    const { stdout } = burst.run
    assert.match(stdout, /^\s+\d+\.\ds\s+burst of 50\s+answers \d+/m)
    assert.match(stdout, /cold starts\s+│ \d+/)
    assert.match(stdout, new RegExp(`│ cold\\s+│ ${burst.written.report.coldStarts}\\s+│`))
    assert.match(stdout, /^ {2}ok {4}connections within instances × pool size/m)
    assert.match(stdout, /report\s+\S+report\.json\n\s+\S+report\.html/)
    assert.equal(burst.written.samples.rows.length, 50)
  })

  it('writes an HTML chart that draws every request, cold starts marked, in Chromium', { skip: !existsSync(CHROMIUM) && !process.env.CI ? `no Chromium at ${CHROMIUM}` : false }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] })
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(`file://${join(burst.dir, 'report.html')}`)
      const drawn = await page.evaluate(() => {
        const chart = (window as unknown as { latencyChart: { data: { datasets: { label: string; data: unknown[] }[] } } }).latencyChart
        return Object.fromEntries(chart.data.datasets.map((dataset) => [dataset.label, dataset.data.length]))
      })
      assert.deepEqual(errors, [])
      assert.equal(drawn['cold start'], burst.written.report.coldStarts)
      const requests = Object.entries(drawn).filter(([label]) => label !== 'database connections')
      assert.equal(requests.reduce((sum, [, count]) => sum + count, 0), 50, JSON.stringify(drawn))
      assert.ok((drawn['database connections'] ?? 0) > 0)
      // The canvas has been drawn on: not one colour all over.
      const colours = await page.evaluate(() => {
        const canvas = document.querySelector('canvas') as HTMLCanvasElement
        const pixels = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height).data
        const seen = new Set<number>()
        for (let i = 0; i < pixels.length; i += 4 * 97) seen.add((pixels[i] as number) * 65536 + (pixels[i + 1] as number) * 256 + (pixels[i + 2] as number))
        return seen.size
      })
      assert.ok(colours > 3, `${colours} colours on the canvas`)
      assert.match(await page.locator('pre').innerText(), /cold starts\s+│ \d+/)
    } finally {
      await browser.close()
    }
  })

  it('the same burst with PostgreSQL limiting the functions below the instance count: the excess answered 503 with Retry-After, never 500, nothing hung', { skip: externalUrl ? false : 'needs PostgreSQL (DATABASE_URL): the embedded PGlite serves every connection from one backend' }, async () => {
    const { run, written } = await load(['burst', '--requests', '50', '--db-connection-limit', '10'])
    const { report } = written
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.deepEqual(failedChecks(report), [])
    const role = /limit\s+functions connect as (users_api_load_\d+), CONNECTION LIMIT 10/.exec(run.stdout)?.[1]
    assert.ok(role !== undefined, run.stdout)
    assert.equal(report.requests, 50)
    assert.deepEqual(Object.keys(report.statuses).filter((status) => status !== '200' && status !== '503'), [])
    // At most 10 instances ever got a connection (a pool keeps it): a fresh answer is the first
    // of one of those, or a later answer of an instance reused (warm). The others answered from
    // the cache (Redis, when REDIS_URL gives one that earlier runs filled) or 503.
    const unavailable = report.statuses['503'] ?? 0
    const fresh = (report.statuses['200'] ?? 0) - report.stale
    const warm = report.requests - report.coldStarts
    assert.ok(fresh <= 10 + warm, `${fresh} fresh answers, ${warm} from instances reused`)
    assert.equal(report.stale + unavailable, 50 - fresh)
    assert.ok(report.stale + unavailable >= 40 - warm, `stale ${report.stale}, 503 ${unavailable}, ${warm} reused`)
    assert.deepEqual(report.unavailable, { withRetryAfter: unavailable, withoutRetryAfter: 0 })
    assert.equal(report.failures.count, 0)
    assert.ok(report.connections !== undefined && report.connections.peak <= 10, `peak ${report.connections?.peak}`)
    // The role of the run is gone with it. (Only its own: one left by a run that was killed
    // is another run's, and the server is shared.)
    const client = new pg.Client({ connectionString: externalUrl })
    await client.connect()
    try {
      const { rows } = await client.query(`SELECT rolname FROM pg_roles WHERE rolname = $1`, [role])
      assert.deepEqual(rows, [])
    } finally {
      await client.end()
    }
  })

  it('the database cut off mid-run: stale answers while it is away, no 500, fresh answers after', async () => {
    // The default cut, 10 s to 20 s of 30: longer than a request's deadline (10 s), so that
    // requests give up on the database and the cache answers.
    const { run, written } = await load(['fault', '--rate', '20', '--connections', '4'])
    const { report, samples } = written
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.deepEqual(failedChecks(report), [])
    assert.deepEqual(report.fault && [report.fault.atSeconds, report.fault.untilSeconds], [10, 20])
    assert.ok(report.stale > 0, `stale answers: ${report.stale}`)
    assert.equal(report.failures.count, 0)
    // What the report says of the cut (its latencies and how soon answers were fresh are figures, not checks).
    const figures = report.fault?.figures
    assert.ok(figures !== undefined && figures.during.requests > 0)
    assert.equal(figures.during.other, 0, 'sent while the database was away: 200 or 503 with Retry-After, nothing else')
    assert.notEqual(figures.freshAgainMs, undefined, 'every answer fresh again before the run ended')
    const column = (name: string) => samples.columns.indexOf(name)
    const afterFault = samples.rows.filter((row) => (row[column('at_ms')] as number) > 24_000)
    assert.ok(afterFault.length > 0)
    assert.ok(afterFault.some((row) => row[column('status')] === 200 && row[column('stale')] === false), 'fresh again after the fault')
  })
})

/**
 * The live processes that the emulator in process `pid` started: each instance's environment
 * names its emulator (EMULATOR_PID), so other emulators on the machine are not counted.
 */
function instancesOf(pid: number): number[] {
  const mark = `\0EMULATOR_PID=${pid}\0`
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return `\0${readFileSync(`/proc/${name}/environ`, 'latin1')}`.includes(mark)
      } catch {
        return false // gone, or not ours to read
      }
    })
    .map(Number)
}

describe('npm run load, stopped with Ctrl-C', () => {
  it('stops the load, writes the report of what ran, and leaves no instance behind', async () => {
    const dir = join(out, 'interrupted')
    // A run of 5 minutes, stopped as soon as answers come: the report covers far less than
    // the run, however long the machine took to start the instances.
    const child = spawnTool('lib/dev/load.ts', env, { args: ['steady', '--seconds', '300', '--rate', '20', '--out', dir] })
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answers in 90 s:\n${stdout}`)), 90_000)
      child.stdout?.on('data', () => {
        if (/answers [1-9]/.test(stdout)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    assert.ok(instancesOf(child.pid as number).length > 0, 'its instances are found while it runs')
    child.kill('SIGINT')
    const code = await exited
    assert.match(stdout, /stopping: the report covers what ran/)
    assert.equal(code, 0, stdout)
    const { report } = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Written
    assert.ok(report.requests > 0 && report.seconds < 200, `${report.requests} requests in ${report.seconds} s`)
    assert.deepEqual(instancesOf(child.pid as number), [], 'no instance of its emulator is left')
  })
})

describe('npm run load --url, against npm run dev:lambda', () => {
  let server: ChildProcess
  let output = ''
  let url: string

  before(async () => {
    server = spawnTool('lib/dev/lambda.ts', { ...env, PORT: '0', PGLITE_DATA_DIR: 'memory://load-url', JWT_SECRET: 'load-url-test-secret-0123456789abcdef' })
    server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev:lambda not ready in 90 s:\n${output}`)), 90_000)
      server.stdout?.on('data', () => {
        const found = /^lambda\s+(http:\/\/\S+)/m.exec(output)?.[1]
        if (found) {
          clearTimeout(timer)
          resolve(found)
        }
      })
      server.once('exit', (code) => reject(new Error(`dev:lambda exited with ${code}:\n${output}`)))
    })
  })

  after(async () => {
    const exit = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGINT')
    await exit
  })

  it('signs in, sends the load, and counts cold starts and inits from what the functions answer', async () => {
    const signIn = { LOAD_USERNAME: ADMIN.ADMIN_USERNAME, LOAD_PASSWORD: ADMIN.ADMIN_PASSWORD }
    const { run, written } = await load(['steady', '--url', url, '--seconds', '4', '--rate', '20', '--connections', '3'], { DATABASE_URL: undefined, ...signIn })
    const { report } = written
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.deepEqual(failedChecks(report), [])
    // How many of the 80 scheduled were sent depends on how fast the machine answers (three
    // connections, one request each at a time); that every one sent was answered 200 does not.
    assert.ok(report.requests > 0, `${report.requests} requests`)
    assert.deepEqual(report.statuses, { 200: report.requests })
    assert.ok(report.coldStarts >= 1)
    assert.equal(report.initMs.count, report.coldStarts)
    assert.equal(report.connections, undefined, 'no --database-url: not sampled')
    // The emulator started one instance for the reachability check (GET /health), one for the
    // sign-in, and one per cold answer; and, on a slow machine, some for requests still in
    // flight when the run ended, whose answers the report does not count.
    assert.ok(initLines(output) >= report.coldStarts + 2, `${initLines(output)} instances started, ${report.coldStarts} cold answers`)
  })
})
