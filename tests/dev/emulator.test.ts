/**
 * The local Lambda emulator with Lambda's model: a process per instance, one request at a time,
 * cold starts with their init, throttling at the concurrency limit, instances frozen between
 * requests and reaped (SIGTERM) when idle, the timeout enforced, REPORT lines.
 */
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { buildFunction } from '../../lib/dev/build.ts'
import type { DevDatabase } from '../../lib/dev/database.ts'
import { startEmulator, type Emulator } from '../../lib/dev/emulator/emulator.ts'
import { functionEnv, startTestDatabase } from '../support/database.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A process's state letter from /proc: `T` is stopped (frozen). */
function processState(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '?'
}

/**
 * A process's state once it is `wanted`, or the last one seen after `timeoutMs`: a signal
 * takes effect when the kernel delivers it, which on a loaded machine is not at once.
 */
async function stateReached(pid: number, wanted: string, timeoutMs = 5_000): Promise<string> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const state = processState(pid)
    if (state === wanted || Date.now() > until) return state
    await sleep(10)
  }
}

describe('the Lambda emulator', () => {
  mkdirSync('.data', { recursive: true })
  const out = mkdtempSync(join(process.cwd(), '.data', 'emulator-'))
  const lines: string[] = []
  let emulator: Emulator
  let database: DevDatabase
  let health: Emulator
  let clockBundle: string

  before(async () => {
    const clock = await buildFunction('tests/fixtures/functions/clock.ts', out)
    clockBundle = clock.file
    emulator = await startEmulator({
      functions: [{ routeKey: 'GET /clock/{id}', bundle: clock.file, timeoutMs: 1_500, memoryMb: 128 }],
      env: { PATH: process.env.PATH ?? '' },
      concurrency: 2,
      idleMs: 1_500,
      log: (line) => lines.push(line),
    })
  })
  after(async () => {
    await emulator?.close()
    await health?.close()
    await database?.close()
    rmSync(out, { recursive: true, force: true })
  })

  const get = async (path: string) => {
    const response = await fetch(`${emulator.url}${path}`)
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  const reports = () => lines.filter((line) => line.startsWith('REPORT '))

  it('starts an instance cold, then reuses it warm, frozen in between', async () => {
    const first = await get('/clock/7')
    assert.equal(first.status, 200)
    assert.deepEqual([first.body.routeKey, first.body.id], ['GET /clock/{id}', '7'])
    assert.match(reports().at(-1) ?? '', /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$/)
    const [instance] = emulator.instances('GET /clock/{id}')
    assert.ok(instance?.frozen)
    assert.equal(await stateReached(instance.pid, 'T'), 'T', 'the idle instance is stopped')

    const second = await get('/clock/8')
    assert.equal(second.body.pid, first.body.pid, 'the same instance')
    assert.doesNotMatch(reports().at(-1) ?? '', /Init Duration/)
    assert.deepEqual(
      emulator.invocations.slice(-2).map((item) => item.cold),
      [true, false],
    )
  })

  it('gives the handler an honest getRemainingTimeInMillis()', async () => {
    const { body } = await get('/clock/1?sleep=300')
    const remaining = Number(body.remainingMs)
    assert.ok(remaining <= 1_200 && remaining >= 900, `1,500 ms timeout, 300 ms spent: ${remaining} ms left`)
  })

  it('starts a new instance when all are busy, up to the limit, then throttles with 429', async () => {
    const answers = await Promise.all([get('/clock/1?sleep=500'), get('/clock/2?sleep=500'), get('/clock/3?sleep=500')])
    const statuses = answers.map((answer) => answer.status).sort()
    assert.deepEqual(statuses, [200, 200, 429])
    const pids = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.body.pid))
    assert.equal(pids.size, 2, 'two instances, one request each')
  })

  it('queues inits beyond parallelInits: the next instance starts after the last one is ready, each request still cold', async () => {
    const queued = await startEmulator({
      functions: [{ routeKey: 'GET /clock/{id}', bundle: clockBundle, timeoutMs: 5_000, memoryMb: 128 }],
      env: { PATH: process.env.PATH ?? '' },
      concurrency: 3,
      parallelInits: 1,
      log: () => undefined,
    })
    try {
      const answers = await Promise.all([1, 2, 3].map(async (id) => (await fetch(`${queued.url}/clock/${id}?sleep=200`)).json() as Promise<{ pid: number; startedAt: number; loadedAt: number }>))
      assert.equal(new Set(answers.map((answer) => answer.pid)).size, 3, 'three instances')
      assert.deepEqual(queued.invocations.map((item) => [item.cold, item.status]), [[true, 200], [true, 200], [true, 200]])
      const byStart = [...answers].sort((a, b) => a.startedAt - b.startedAt)
      for (let index = 1; index < byStart.length; index++) {
        const [before, next] = [byStart[index - 1], byStart[index]] as [(typeof answers)[number], (typeof answers)[number]]
        assert.ok(next.startedAt >= before.loadedAt, `instance ${index + 1} started before instance ${index} had loaded`)
      }
    } finally {
      await queued.close()
    }
  })

  it('kills an invocation that outlives the timeout and answers 500, as API Gateway does', async () => {
    // The request goes to the first idle instance (or a new one, if none is left).
    const first = emulator.instances('GET /clock/{id}')[0]?.pid
    const answer = await get('/clock/1?sleep=3000')
    assert.equal(answer.status, 500)
    assert.deepEqual(answer.body, { message: 'Internal Server Error' })
    assert.ok(lines.some((line) => /Task timed out after 1\.50 seconds/.test(line)))
    await sleep(100)
    if (first !== undefined) {
      assert.ok(!emulator.instances('GET /clock/{id}').some((item) => item.pid === first), 'the instance did not survive')
      assert.throws(() => process.kill(first, 0), 'its process is gone')
    }
  })

  it('shuts idle instances down with SIGTERM after the idle timeout', async () => {
    await get('/clock/1')
    await sleep(2_500)
    assert.deepEqual(emulator.instances('GET /clock/{id}'), [])
    assert.ok(lines.some((line) => line === 'clock: SIGTERM, shutting down'))
  })

  it('runs a built function of this project: cold-start header on its first answer only', async () => {
    database = await startTestDatabase()
    const bundle = await buildFunction('functions/health/get.ts', out)
    health = await startEmulator({ functions: [{ routeKey: 'GET /health', bundle: bundle.file }], env: { PATH: process.env.PATH ?? '', ...functionEnv(database) }, log: () => undefined })
    const first = await fetch(`${health.url}/health`)
    assert.equal(first.status, 200)
    assert.deepEqual(await first.json(), { status: 'ok' })
    assert.equal(first.headers.get('x-cold-start'), '1')
    // Its init, from process start to ready, as Server-Timing: within the emulator's own
    // measure (spawn to ready, which adds the spawn and the message), and most of it.
    const timing = /^init;dur=(\d+(?:\.\d+)?)$/.exec(first.headers.get('server-timing') ?? '')
    assert.ok(timing, `server-timing: ${first.headers.get('server-timing')}`)
    const emulated = health.invocations[0]?.initMs ?? 0
    assert.ok(Number(timing[1]) <= emulated + 1 && Number(timing[1]) > emulated / 2, `init ${timing[1]} ms, emulator's ${emulated} ms`)
    const second = await fetch(`${health.url}/health`)
    assert.equal(second.headers.get('x-cold-start'), null)
    assert.equal(second.headers.get('server-timing'), null)
    assert.equal((await fetch(`${health.url}/nowhere`)).status, 404)
  })
})
